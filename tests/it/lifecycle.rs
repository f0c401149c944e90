//! The connection-lifecycle contract every transport obeys, as one fault
//! matrix: each row is a misbehaving server (or none), a command and what
//! must happen, run on every transport it applies to. A new transport gets
//! every row by one entry in `TRANSPORTS`.
//!
//! Each #[test] runs its rows in parallel and fails once, at the end, with
//! a report of every failing row, so one broken row hides no other.

use std::panic::AssertUnwindSafe;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::fault::{FaultServer, Script, Step};
use crate::common::{self, assert_code, closed_port, collect, pubcat, wait_with_timeout};

use Count::{AtMost, Exactly};
use Fault::{Refused, Scripts, Silent, Stall, Status};
use On::{Every, Only};

struct Transport {
    name: &'static str,
    scheme: &'static str,
    /// Flags that pick it for a URL of that scheme.
    args: &'static [&'static str],
    receives: bool,
    publishes: bool,
    /// The start of its handshake's answer: enough to keep a client waiting.
    stall: &'static str,
}

const TRANSPORTS: &[Transport] = &[
    Transport {
        name: "ws",
        scheme: "ws",
        args: &[],
        receives: true,
        publishes: true,
        stall: "HTTP/1.1 101 Switching Protocols\r\n",
    },
    // The defaults for http:// URLs: SSE to receive, POST to publish.
    Transport {
        name: "sse",
        scheme: "http",
        args: &[],
        receives: true,
        publishes: false,
        stall: "HTTP/1.1 200 OK\r\n",
    },
    Transport {
        name: "poll",
        scheme: "http",
        args: &["--transport", "poll"],
        receives: true,
        publishes: false,
        stall: "HTTP/1.1 200 OK\r\n",
    },
    Transport {
        name: "http",
        scheme: "http",
        args: &[],
        receives: false,
        publishes: true,
        stall: "HTTP/1.1 200 OK\r\n",
    },
    // The protocols over them: their handshakes go through the same
    // lifecycle, so every connecting row holds for them too.
    Transport {
        name: "stomp",
        scheme: "stomp+ws",
        args: &["-t", "/topic/t"],
        receives: true,
        publishes: true,
        stall: "HTTP/1.1 101 Switching Protocols\r\n",
    },
    Transport {
        name: "mqtt",
        scheme: "mqtt+ws",
        args: &["-t", "t"],
        receives: true,
        publishes: true,
        stall: "HTTP/1.1 101 Switching Protocols\r\n",
    },
    Transport {
        name: "sockjs",
        scheme: "sockjs+http",
        args: &[],
        receives: true,
        publishes: true,
        stall: "HTTP/1.1 200 OK\r\n",
    },
    Transport {
        name: "socketio",
        scheme: "socketio+http",
        args: &[],
        receives: true,
        publishes: true,
        stall: "HTTP/1.1 200 OK\r\n",
    },
];

/// The transports a row runs on (those that can play its command).
#[derive(Clone, Copy)]
enum On {
    Every,
    Only(&'static [&'static str]),
}

#[derive(Clone, Copy)]
enum Fault {
    /// Nothing listens on the port.
    Refused,
    /// Accepts, reads the request, never answers.
    Silent,
    /// The transport's first status line, then nothing.
    Stall,
    /// Every connection gets this whole answer.
    Status(u16, &'static str, &'static str),
    /// Connection by connection.
    Scripts(fn() -> Vec<Script>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Count {
    Any,
    Exactly(usize),
    AtMost(usize),
}

#[derive(Clone, Copy)]
struct Expect {
    code: i32,
    /// Wall-clock bound on the child, from its start (or from the SIGINT).
    secs: f64,
    /// Exactly these lines on stdout.
    lines: &'static [&'static str],
    requests: Count,
    /// Each is on stderr (case-insensitively); `a|b`: one of them is.
    stderr_has: &'static [&'static str],
    stderr_lacks: &'static [&'static str],
    /// (request number from 1, header, value).
    headers: &'static [(usize, &'static str, &'static str)],
    /// Payloads of the WebSocket frames the server read.
    frames: Option<&'static [&'static str]>,
}

/// A row's expectation where it says nothing: no output and 5 s (a
/// refusal or an error answer takes milliseconds).
const E: Expect = Expect {
    code: 0,
    secs: 5.0,
    lines: &[],
    requests: Count::Any,
    stderr_has: &[],
    stderr_lacks: &[],
    headers: &[],
    frames: None,
};

#[derive(Clone, Copy)]
struct Row {
    /// The contract's row number and what it is about.
    id: &'static str,
    on: On,
    fault: Fault,
    cmd: &'static str,
    args: &'static [&'static str],
    /// Send SIGINT once the server has seen this many requests.
    sigint_after: Option<usize>,
    expect: Expect,
}

const fn row(
    id: &'static str,
    on: On,
    fault: Fault,
    cmd: &'static str,
    args: &'static [&'static str],
    expect: Expect,
) -> Row {
    Row {
        id,
        on,
        fault,
        cmd,
        args,
        sigint_after: None,
        expect,
    }
}

const RETRY_TWICE: &[&str] = &["--max-retries", "2", "--backoff-min", "10ms"];

/// Where `--connect-timeout` covers the wait for the answer too. A
/// long-poll server may hold a request as long as it likes (Nchan, by
/// default, until a message comes): there, silence is a quiet topic,
/// bounded by `--poll-timeout` (then asked again) and by `--timeout`.
const ANSWER_BOUNDED: On = Only(&["ws", "sse", "http", "stomp", "mqtt", "sockjs", "socketio"]);
/// Rows 1-3: nothing listening, or a server that never finishes answering.
const CONNECTING: &[Row] = &[
    row(
        "1 refused",
        Every,
        Refused,
        "sub",
        &[],
        Expect { code: 3, ..E },
    ),
    row(
        "1 refused",
        Every,
        Refused,
        "pub",
        &[],
        Expect { code: 3, ..E },
    ),
    row(
        "1 refused",
        Every,
        Refused,
        "tail",
        RETRY_TWICE,
        Expect {
            code: 3,
            stderr_has: &["gave up"],
            ..E
        },
    ),
    row(
        "2 silent",
        ANSWER_BOUNDED,
        Silent,
        "sub",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
    row(
        "2 silent",
        Every,
        Silent,
        "sub",
        &["-n", "1", "--timeout", "2s"],
        Expect {
            code: 1,
            secs: 3.5,
            ..E
        },
    ),
    row(
        "2 silent",
        ANSWER_BOUNDED,
        Silent,
        "pub",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            ..E
        },
    ),
    row(
        "2 silent",
        ANSWER_BOUNDED,
        Silent,
        "tail",
        &[
            "--connect-timeout",
            "1s",
            "--max-retries",
            "1",
            "--backoff-min",
            "10ms",
        ],
        Expect {
            code: 3,
            requests: Exactly(2),
            ..E
        },
    ),
    row(
        "3 stall",
        ANSWER_BOUNDED,
        Stall,
        "sub",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
    row(
        "3 stall",
        Every,
        Stall,
        "sub",
        &["-n", "1", "--timeout", "2s"],
        Expect {
            code: 1,
            secs: 3.5,
            ..E
        },
    ),
    // connect goes through the same lifecycle (its stdin is at its end,
    // which does not matter before it is connected).
    row(
        "1 refused",
        Every,
        Refused,
        "connect",
        &[],
        Expect { code: 3, ..E },
    ),
    row(
        "2 silent",
        ANSWER_BOUNDED,
        Silent,
        "connect",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
    row(
        "3 stall",
        ANSWER_BOUNDED,
        Stall,
        "connect",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
    // A dialect's own handshake (STOMP's CONNECTED, MQTT's CONNACK) is
    // part of connecting too.
    row(
        "3 upgraded, then silent",
        Only(&["stomp", "mqtt"]),
        Scripts(ws_frozen),
        "sub",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
    row(
        "3 upgraded, then silent",
        Only(&["stomp", "mqtt"]),
        Scripts(ws_frozen),
        "pub",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
    // request and reply connect through the same lifecycle; request's
    // --timeout bounds its connecting too.
    row(
        "1 refused",
        Only(&["mqtt"]),
        Refused,
        "request",
        &["hi"],
        Expect { code: 3, ..E },
    ),
    row(
        "1 refused",
        Only(&["mqtt"]),
        Refused,
        "reply",
        &[],
        Expect { code: 3, ..E },
    ),
    row(
        "3 upgraded, then silent",
        Only(&["mqtt"]),
        Scripts(ws_frozen),
        "request",
        &["--timeout", "2s", "hi"],
        Expect {
            code: 1,
            secs: 3.5,
            stderr_has: &["no reply within 2s"],
            ..E
        },
    ),
    row(
        "3 upgraded, then silent",
        Only(&["mqtt"]),
        Scripts(ws_frozen),
        "reply",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
    // SockJS's info document is part of connecting: its body too.
    row(
        "3 stall mid-body",
        Only(&["sockjs"]),
        Scripts(info_stalls_mid_body),
        "sub",
        &["--connect-timeout", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["timed out"],
            ..E
        },
    ),
];

/// Rows 4-7, 12 and 16: whole HTTP answers. Refusals (4xx) end at once,
/// server errors (5xx) are retried by tail up to --max-retries.
const ANSWERS: &[Row] = &[
    row("4 204", Only(&["sse"]), Status(204, "", ""), "sub", &[], E),
    row(
        "4 204",
        Only(&["sse"]),
        Status(204, "", ""),
        "tail",
        &[],
        Expect {
            requests: Exactly(1),
            ..E
        },
    ),
    row(
        "5 401",
        Every,
        Status(401, "text/plain", "no entry\n"),
        "sub",
        &[],
        Expect {
            code: 4,
            stderr_has: &["401"],
            ..E
        },
    ),
    row(
        "5 401",
        Every,
        Status(401, "text/plain", "no entry\n"),
        "tail",
        &[],
        Expect {
            code: 4,
            requests: Exactly(1),
            stderr_has: &["401"],
            ..E
        },
    ),
    row(
        "5 404",
        Every,
        Status(404, "text/plain", "no such topic\n"),
        "sub",
        &[],
        Expect {
            code: 4,
            stderr_has: &["404"],
            ..E
        },
    ),
    row(
        "5 404",
        Every,
        Status(404, "text/plain", "no such topic\n"),
        "tail",
        &[],
        Expect {
            code: 4,
            requests: Exactly(1),
            stderr_has: &["404"],
            ..E
        },
    ),
    row(
        "6 500",
        Every,
        Status(500, "text/plain", "boom\n"),
        "sub",
        &[],
        Expect {
            code: 4,
            stderr_has: &["500"],
            ..E
        },
    ),
    row(
        "6 500",
        Every,
        Status(500, "text/plain", "boom\n"),
        "tail",
        &[
            "--max-retries",
            "2",
            "--backoff-min",
            "10ms",
            "--backoff-max",
            "50ms",
        ],
        Expect {
            code: 4,
            requests: Exactly(3),
            stderr_has: &["gave up"],
            ..E
        },
    ),
    row(
        "7 text/html",
        Only(&["sse"]),
        Status(200, "text/html", "<html>"),
        "sub",
        &[],
        Expect { code: 4, ..E },
    ),
    row(
        "7 text/html",
        Only(&["sse"]),
        Status(200, "text/html", "<html>"),
        "tail",
        &[],
        Expect {
            code: 4,
            requests: Exactly(1),
            ..E
        },
    ),
    // "Nothing yet" at once, every time: asking again must not spin.
    row(
        "12 poll 304",
        Only(&["poll"]),
        Status(304, "", ""),
        "sub",
        &["-n", "1", "--timeout", "3s"],
        Expect {
            code: 1,
            secs: 4.5,
            requests: AtMost(6),
            ..E
        },
    ),
    row(
        "16 oversized",
        Only(&["poll"]),
        Scripts(oversized),
        "sub",
        &["--max-message-size", "1M"],
        Expect { code: 4, ..E },
    ),
    // An Engine.IO polling answer is read only up to what its messages may
    // take (it used to be read whole, however large).
    row(
        "16 oversized polling answer",
        Only(&["socketio"]),
        Scripts(engineio_oversized),
        "sub",
        &["--max-message-size", "1M"],
        Expect {
            code: 4,
            stderr_has: &["larger than --max-message-size"],
            ..E
        },
    ),
];

const RAW: &[&str] = &["-o", "raw"];
const TAIL_RAW: &[&str] = &["-o", "raw", "--backoff-min", "10ms"];

/// Rows 8-11: SSE streams that end, break, and resume.
const STREAMS: &[Row] = &[
    // sub is one session: only the first connection counts.
    row(
        "8 end, resume",
        Only(&["sse"]),
        Scripts(sse_end_then_resume),
        "sub",
        RAW,
        Expect {
            lines: &["a", "b"],
            requests: Exactly(1),
            ..E
        },
    ),
    row(
        "8 end, resume",
        Only(&["sse"]),
        Scripts(sse_end_then_resume),
        "tail",
        TAIL_RAW,
        Expect {
            lines: &["a", "b", "c"],
            requests: Exactly(3),
            headers: &[(2, "Last-Event-ID", "2"), (3, "Last-Event-ID", "3")],
            ..E
        },
    ),
    row(
        "9 reset mid-stream",
        Only(&["sse"]),
        Scripts(sse_reset_then_resume),
        "sub",
        RAW,
        Expect {
            code: 3,
            lines: &["a"],
            ..E
        },
    ),
    row(
        "9 reset mid-stream",
        Only(&["sse"]),
        Scripts(sse_reset_then_resume),
        "tail",
        TAIL_RAW,
        Expect {
            lines: &["a", "c"],
            requests: Exactly(3),
            headers: &[(2, "Last-Event-ID", "1"), (3, "Last-Event-ID", "2")],
            ..E
        },
    ),
    row(
        "10 reset before any message",
        Only(&["sse"]),
        Scripts(sse_reset_first),
        "sub",
        RAW,
        Expect { code: 3, ..E },
    ),
    row(
        "10 reset before any message",
        Only(&["sse"]),
        Scripts(sse_reset_first),
        "tail",
        TAIL_RAW,
        Expect { lines: &["a"], ..E },
    ),
    // WHATWG: an event without `id:` keeps the last one, so tail must not
    // take b and c for repeats of a.
    row(
        "11 events without ids",
        Only(&["sse"]),
        Scripts(sse_one_id),
        "sub",
        RAW,
        Expect {
            lines: &["a", "b", "c"],
            ..E
        },
    ),
    row(
        "11 events without ids",
        Only(&["sse"]),
        Scripts(sse_one_id),
        "tail",
        TAIL_RAW,
        Expect {
            lines: &["a", "b", "c"],
            ..E
        },
    ),
    // Ids that jump prove a gap only where the server says its ids are
    // consecutive (pubcat serve's `X-Pubcat-Ids: sequence`) or the user
    // does: a server whose ids are global counters is not warned about.
    row(
        "17 ids that jump",
        Only(&["sse"]),
        Scripts(sse_jump),
        "tail",
        TAIL_RAW,
        Expect {
            lines: &["a", "b"],
            stderr_lacks: &["gap"],
            ..E
        },
    ),
    row(
        "17 ids that jump, --gap-check sequence",
        Only(&["sse"]),
        Scripts(sse_jump),
        "tail",
        &[
            "-o",
            "raw",
            "--backoff-min",
            "10ms",
            "--gap-check",
            "sequence",
        ],
        Expect {
            lines: &["a", "b"],
            stderr_has: &["gap", "2..4"],
            ..E
        },
    ),
    // SSE and long-poll have no pings: --dead-after is their liveness.
    row(
        "19 frozen after an event, --dead-after",
        Only(&["sse"]),
        Scripts(sse_then_freeze),
        "sub",
        &["-o", "raw", "--dead-after", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            lines: &["a"],
            stderr_has: &["dead"],
            ..E
        },
    ),
    row(
        "19 silent long-poll, --dead-after",
        Only(&["poll"]),
        Silent,
        "sub",
        &["--dead-after", "1s"],
        Expect {
            code: 3,
            secs: 2.5,
            stderr_has: &["dead"],
            ..E
        },
    ),
    // -n N is kept to N only where the server takes ?last=N; elsewhere it
    // would print the server's whole replay: refused before any output.
    // A server that says "no more" is that, with or without -n.
    row(
        "18 -n on a server that answers 204",
        Only(&["sse"]),
        Status(204, "", ""),
        "tail",
        &["-n", "1"],
        Expect {
            requests: Exactly(1),
            ..E
        },
    ),
    row(
        "18 -n on a server that does not take ?last",
        Only(&["sse"]),
        Scripts(sse_jump),
        "tail",
        &["-n", "1"],
        Expect {
            code: 2,
            stderr_has: &["--since"],
            ..E
        },
    ),
];

/// Rows 13-14: WebSocket closes, cuts and a peer that stops answering.
const WEBSOCKET: &[Row] = &[
    row(
        "13 close 1000",
        Only(&["ws"]),
        Scripts(ws_close_normally),
        "sub",
        RAW,
        Expect {
            lines: &["a", "b"],
            ..E
        },
    ),
    row(
        "13 FIN without close frame",
        Only(&["ws"]),
        Scripts(ws_fin),
        "sub",
        RAW,
        Expect {
            code: 3,
            lines: &["a"],
            ..E
        },
    ),
    row(
        "13 frozen peer",
        Only(&["ws"]),
        Scripts(ws_frozen),
        "sub",
        &["--ping-interval", "500ms"],
        Expect {
            code: 3,
            secs: 3.0,
            ..E
        },
    ),
    row(
        "13 frozen peer",
        Only(&["ws"]),
        Scripts(ws_frozen),
        "tail",
        &[
            "--ping-interval",
            "500ms",
            "--max-retries",
            "0",
            "--backoff-min",
            "10ms",
        ],
        Expect {
            code: 3,
            secs: 3.0,
            ..E
        },
    ),
    // The publisher's close is never answered because the connection is
    // gone, not because the server is slow: say so, and no wait time.
    row(
        "14 dropped after the message",
        Only(&["ws"]),
        Scripts(ws_read_then_drop),
        "pub",
        &[],
        Expect {
            code: 5,
            secs: 3.0,
            stderr_has: &["closed|lost"],
            stderr_lacks: &["did not answer within", "within 10s"],
            frames: Some(&["hi"]),
            ..E
        },
    ),
    // A close that refuses the client (1008, policy: often authorization)
    // would be the same next time: tail ends with it, exit 4, after one
    // connection; a server restarting (1012) is reconnected to.
    row(
        "13 close 1008",
        Only(&["ws"]),
        Scripts(ws_policy_close),
        "tail",
        TAIL_RAW,
        Expect {
            code: 4,
            lines: &["a"],
            requests: Exactly(1),
            stderr_has: &["1008"],
            ..E
        },
    ),
    row(
        "13 close 1012",
        Only(&["ws"]),
        Scripts(ws_restart_close),
        "tail",
        &["-o", "raw", "--backoff-min", "10ms", "--max-retries", "1"],
        Expect {
            code: 3,
            lines: &["a"],
            requests: Exactly(2),
            stderr_has: &["gave up"],
            ..E
        },
    ),
    // A refusal is a refusal (exit 4, with the server's reason), never a
    // confirmation: an error close answering ours confirms nothing.
    row(
        "14b refused with 1009",
        Only(&["ws"]),
        Scripts(ws_read_then_refuse),
        "pub",
        &[],
        Expect {
            code: 4,
            secs: 3.0,
            stderr_has: &["1009"],
            frames: Some(&["hi"]),
            ..E
        },
    ),
];

/// Row 15: Ctrl-C while waiting for an answer, with the default 10 s
/// connect timeout still far off.
const INTERRUPTED: &[Row] = &[Row {
    sigint_after: Some(1),
    ..row(
        "15 ctrl-c",
        Every,
        Silent,
        "pub",
        &[],
        Expect {
            code: 130,
            secs: 2.0,
            ..E
        },
    )
}];

fn info_stalls_mid_body() -> Vec<Script> {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    vec![vec![Step::Head(head.into())]]
}

fn sse(events: &str) -> Step {
    Step::Write(events.as_bytes().to_vec())
}

fn no_content() -> Script {
    vec![Step::Status(204, "", Vec::new())]
}

fn sse_end_then_resume() -> Vec<Script> {
    vec![
        vec![
            Step::SseOpen,
            sse("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"),
            Step::End,
        ],
        vec![Step::SseOpen, sse("id: 3\ndata: c\n\n"), Step::End],
        no_content(),
    ]
}

fn sse_reset_then_resume() -> Vec<Script> {
    vec![
        vec![Step::SseOpen, sse("id: 1\ndata: a\n\n"), Step::Reset],
        vec![Step::SseOpen, sse("id: 2\ndata: c\n\n"), Step::End],
        no_content(),
    ]
}

fn sse_reset_first() -> Vec<Script> {
    vec![
        vec![Step::SseOpen, Step::Reset],
        vec![Step::SseOpen, sse("id: 1\ndata: a\n\n"), Step::End],
        no_content(),
    ]
}

fn sse_one_id() -> Vec<Script> {
    vec![
        vec![
            Step::SseOpen,
            sse("id: 1\ndata: a\n\ndata: b\n\ndata: c\n\n"),
            Step::End,
        ],
        no_content(),
    ]
}

fn sse_jump() -> Vec<Script> {
    vec![
        vec![
            Step::SseOpen,
            sse("id: 1\ndata: a\n\nid: 5\ndata: b\n\n"),
            Step::End,
        ],
        no_content(),
    ]
}

fn sse_then_freeze() -> Vec<Script> {
    vec![vec![Step::SseOpen, sse("id: 1\ndata: a\n\n"), Step::Hang]]
}

fn oversized() -> Vec<Script> {
    vec![vec![Step::Status(200, "text/plain", vec![b'a'; 8 << 20])]]
}

/// An Engine.IO handshake that also brings the Socket.IO connect answer,
/// then 8 MB answers to whatever comes next.
fn engineio_oversized() -> Vec<Script> {
    let open = "0{\"sid\":\"s\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}\u{1e}40{\"sid\":\"x\"}";
    vec![
        vec![Step::Status(200, "text/plain", open.as_bytes().to_vec())],
        vec![Step::Status(200, "text/plain", vec![b'4'; 8 << 20])],
    ]
}

fn ws_close_normally() -> Vec<Script> {
    vec![vec![
        Step::WsAccept,
        Step::WsText("a".into()),
        Step::WsText("b".into()),
        Step::WsClose(1000),
    ]]
}

fn ws_fin() -> Vec<Script> {
    vec![vec![Step::WsAccept, Step::WsText("a".into()), Step::End]]
}

fn ws_frozen() -> Vec<Script> {
    vec![vec![Step::WsAccept, Step::WsFreeze]]
}

fn ws_policy_close() -> Vec<Script> {
    vec![vec![
        Step::WsAccept,
        Step::WsText("a".into()),
        Step::WsClose(1008),
    ]]
}

/// A message, then a restart that delivers nothing: the first close ends a
/// session that made progress (a first failure, retried once), the second
/// is a second failure in a row (given up with --max-retries 1).
fn ws_restart_close() -> Vec<Script> {
    vec![
        vec![
            Step::WsAccept,
            Step::WsText("a".into()),
            Step::WsClose(1012),
        ],
        vec![Step::WsAccept, Step::WsClose(1012)],
    ]
}

fn ws_read_then_refuse() -> Vec<Script> {
    vec![vec![
        Step::WsAccept,
        Step::WsReadFrames(1),
        Step::WsClose(1009),
    ]]
}

fn ws_read_then_drop() -> Vec<Script> {
    vec![vec![Step::WsAccept, Step::WsReadFrames(1), Step::End]]
}

/// One row on one transport.
struct Case {
    row: Row,
    transport: &'static Transport,
}

impl Case {
    fn name(&self) -> String {
        format!(
            "row {} [{} {}]",
            self.row.id, self.transport.name, self.row.cmd
        )
    }

    fn scripts(&self) -> Option<Vec<Script>> {
        let text = |body: &str| body.as_bytes().to_vec();
        match self.row.fault {
            Refused => None,
            Silent => Some(vec![vec![Step::Silent]]),
            Stall => Some(vec![vec![Step::Head(self.transport.stall.into())]]),
            Status(code, content_type, body) => {
                Some(vec![vec![Step::Status(code, content_type, text(body))]])
            }
            Scripts(scripts) => Some(scripts()),
        }
    }
}

fn cases(rows: &[Row]) -> Vec<Case> {
    let mut out = Vec::new();
    for row in rows {
        for t in TRANSPORTS {
            let plays = match row.cmd {
                "pub" => t.publishes,
                "connect" => t.publishes && t.receives,
                _ => t.receives,
            };
            let on = match row.on {
                Every => true,
                Only(names) => names.contains(&t.name),
            };
            if plays && on {
                out.push(Case {
                    row: *row,
                    transport: t,
                });
            }
        }
    }
    out
}

/// Run every row on every transport it applies to, in parallel; fail with
/// a report of each failing one.
fn check(rows: &[Row]) {
    let cases = cases(rows);
    assert!(!cases.is_empty(), "no row applies to any transport");
    let failures: Vec<String> = std::thread::scope(|s| {
        let running: Vec<_> = cases
            .iter()
            .map(|case| (case, s.spawn(move || run(case))))
            .collect();
        running
            .into_iter()
            .filter_map(|(case, handle)| match handle.join() {
                Ok(report) => report,
                Err(panic) => Some(format!("{}: panicked: {}", case.name(), message(&*panic))),
            })
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// How long past its bound a row's child may run before it is killed: long
/// enough to show how late it was, not to hang the suite.
const GRACE: Duration = Duration::from_secs(5);

/// One case: None when it behaved, else its report.
fn run(case: &Case) -> Option<String> {
    let e = case.row.expect;
    let server = case.scripts().map(FaultServer::start);
    let host = match &server {
        Some(server) => server.addr.to_string(),
        None => format!("127.0.0.1:{}", closed_port()),
    };
    let mut argv = vec![
        case.row.cmd.to_string(),
        format!("{}://{host}/t", case.transport.scheme),
    ];
    argv.extend(case.transport.args.iter().map(|a| a.to_string()));
    argv.extend(case.row.args.iter().map(|a| a.to_string()));
    if case.row.cmd == "pub" {
        argv.push("hi".into());
    }

    let mut problems = Vec::new();
    // From before the spawn: a loaded machine may return from it late.
    let mut from = Instant::now();
    let mut child = pubcat()
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pubcat");
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    if let (Some(n), Some(server)) = (case.row.sigint_after, &server) {
        if !server.wait_for_requests(n) {
            problems.push(format!("the server never saw {n} request(s)"));
        }
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        from = Instant::now();
    }
    let bound = Duration::from_secs_f64(e.secs);
    // wait_with_timeout kills a hung child and panics: that is a report
    // line here, with whatever the child printed.
    let status = std::panic::catch_unwind(AssertUnwindSafe(|| {
        wait_with_timeout(&mut child, bound + GRACE)
    }))
    .ok();
    let elapsed = from.elapsed();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.join().unwrap()).to_string();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();

    let code = status.and_then(|s| s.code());
    match status {
        None => problems.push(format!("still running after {elapsed:.1?}: killed")),
        Some(_) if code != Some(e.code) => {
            problems.push(format!("exit {code:?}, expected {}", e.code))
        }
        Some(_) if elapsed > bound => {
            problems.push(format!("took {elapsed:.2?}, over its {bound:?} bound"))
        }
        Some(_) => {}
    }
    let lines: Vec<&str> = stdout.lines().collect();
    if lines != e.lines {
        let got = clip(&format!("{lines:?}"));
        problems.push(format!("stdout lines {got}, expected {:?}", e.lines));
    }
    let lower = stderr.to_lowercase();
    for needle in e.stderr_has {
        if !needle.split('|').any(|n| lower.contains(&n.to_lowercase())) {
            problems.push(format!("stderr does not say {needle:?}"));
        }
    }
    for needle in e.stderr_lacks {
        if lower.contains(&needle.to_lowercase()) {
            problems.push(format!("stderr says {needle:?}"));
        }
    }
    let mut seen = String::new();
    if let Some(server) = &server {
        if !server.settle() {
            problems.push("a connection never sent its request head".into());
        }
        let requests = server.requests();
        seen = format!(
            "; the server saw {} request(s) on {} connection(s)",
            requests.len(),
            server.connections()
        );
        let n = requests.len();
        let counted = match e.requests {
            Count::Any => true,
            Exactly(want) => n == want,
            AtMost(most) => n <= most,
        };
        if !counted {
            problems.push(format!("{n} request(s), expected {:?}", e.requests));
        }
        for &(i, name, want) in e.headers {
            let got = requests.get(i - 1).and_then(|r| r.header(name));
            if got != Some(want) {
                problems.push(format!(
                    "request {i} had {name}: {got:?}, expected {want:?}"
                ));
            }
        }
        if let Some(want) = e.frames
            && server.frames() != want
        {
            problems.push(format!(
                "the server read frames {:?}, expected {want:?}",
                server.frames()
            ));
        }
    }
    if std::env::var_os("PUBCAT_MATRIX").is_some() {
        // The measured matrix, for a closing note: `PUBCAT_MATRIX=1 cargo
        // test --test it lifecycle:: -- --nocapture`.
        let requests = server.as_ref().map_or(0, |s| s.requests().len());
        println!(
            "MATRIX | {} | {} | {} | {} | exit {} | {:.2} s | {requests} | {} |",
            case.row.id,
            case.transport.name,
            case.row.cmd,
            case.row.args.join(" "),
            code.map_or("none".into(), |c| c.to_string()),
            elapsed.as_secs_f64(),
            if problems.is_empty() { "ok" } else { "FAILED" },
        );
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "{}: pubcat {}\n  expected exit {} within {bound:?}; got exit {code:?} after {elapsed:.2?}{seen}\n  - {}\n  stdout: {:?}\n  stderr: {:?}",
        case.name(),
        argv.join(" "),
        e.code,
        problems.join("\n  - "),
        clip(&stdout),
        clip(&stderr),
    ))
}

fn clip(s: &str) -> String {
    const MAX: usize = 400;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

#[test]
fn a_refused_or_unanswered_connection_ends_within_its_timeout() {
    check(CONNECTING);
}

#[test]
fn http_answers_end_the_command_and_only_server_errors_are_retried() {
    check(ANSWERS);
}

#[test]
fn sse_streams_end_break_and_resume_after_the_last_id() {
    check(STREAMS);
}

#[test]
fn websocket_closes_cuts_and_a_frozen_peer() {
    check(WEBSOCKET);
}

#[test]
fn ctrl_c_ends_a_publisher_still_waiting_for_the_server() {
    check(INTERRUPTED);
}

/// The fault server's handshake, on RFC 6455's own example: a WebSocket
/// row must fail because of pubcat, never because of the helper.
#[test]
fn the_fault_server_computes_the_rfc_6455_accept_key() {
    assert_eq!(
        common::fault::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

/// A full stderr (here /dev/full) loses status lines and nothing else: the
/// client ends with its own exit code, not a panic (101), and the broker
/// still serves every connection it would log.
#[test]
fn a_full_stderr_never_ends_a_command() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let out = pubcat()
        .args(["sub", &format!("http://127.0.0.1:{}/t", closed_port())])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));

    let port = common::free_port();
    let mut serve = pubcat()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(full())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "serve never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sub = common::Lines::spawn({
        let mut c = pubcat();
        c.args(["sub", &format!("ws://{addr}/t"), "-n", "1", "-o", "raw"]);
        c.args(["--timeout", "20s"]);
        c
    });
    // The broker's own count says when the subscriber is in.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, stats) = common::http(addr.parse().unwrap(), "GET", "/_/stats", b"");
        if String::from_utf8_lossy(&stats).contains("\"subscribers\":1") {
            break;
        }
        assert!(Instant::now() < deadline, "no subscriber: {stats:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = pubcat()
        .args(["pub", &format!("ws://{addr}/t"), "hi"])
        .output()
        .unwrap();
    assert_eq!(sent.status.code(), Some(0), "{sent:?}");
    let (code, lines, stderr) = sub.finish();
    assert_eq!((code, lines), (Some(0), vec!["hi".to_string()]), "{stderr}");
    assert!(serve.try_wait().unwrap().is_none(), "serve died");
    let _ = serve.kill();
    let _ = serve.wait();
}

/// Secrets never reach stderr: without -v an error line shows no query at
/// all; with -v every header and query value whose name looks like a
/// credential is hidden, whatever the exact name. The secrets are `zq-N`:
/// `-` is not in base64, so no random handshake key can contain one.
#[test]
fn secrets_in_urls_and_headers_never_reach_stderr() {
    let refused = format!(
        "http://127.0.0.1:{}/t?apikey=zq-1&room=lobby",
        closed_port()
    );
    let out = pubcat().args(["sub", &refused]).output().unwrap();
    let stderr = assert_code(&out, 3);
    assert!(
        !stderr.contains("zq-1") && !stderr.contains("lobby"),
        "{stderr}"
    );
    // URLs refused before any connection are shown redacted too.
    for typed in [
        "sockjs+ws://bob:zq-6@h/x?token=zq-7",
        "ws:/bob:zq-6@h/x?token=zq-7",
        "ftp://bob:zq-6@h/x?token=zq-7",
    ] {
        let out = pubcat().args(["sub", typed]).output().unwrap();
        let stderr = assert_code(&out, 2);
        assert!(
            !stderr.contains("zq-6") && !stderr.contains("zq-7"),
            "{stderr}"
        );
    }
    // user:password@host without a scheme is a ws:// URL with a password.
    let out = pubcat()
        .args(["sub", &format!("bob:zq-8@127.0.0.1:{}/t", closed_port())])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 3);
    assert!(!stderr.contains("zq-8"), "{stderr}");

    for transport in ["ws", "http"] {
        let server =
            FaultServer::start(vec![vec![Step::Status(401, "text/plain", b"no".to_vec())]]);
        let url = format!(
            "{transport}://{}/t?jwt=zq-2&X-Amz-Signature=zq-3&room=lobby",
            server.addr
        );
        let out = pubcat()
            .args([
                "-v",
                "sub",
                &url,
                "-H",
                "X-ApiKey: zq-4",
                "-H",
                "X-Auth: zq-5",
            ])
            .output()
            .unwrap();
        let stderr = assert_code(&out, 4);
        assert!(stderr.contains("room=lobby"), "-v shows the rest: {stderr}");
        for secret in ["zq-2", "zq-3", "zq-4", "zq-5"] {
            assert!(
                !stderr.contains(secret),
                "{transport}: {secret} in {stderr}"
            );
        }
    }
}

/// A keep-alive timer that fell due while a publisher only sent must not
/// fire after its close frame: that ping was refused ("sending after
/// closing") and a publish that delivered everything exited 4.
#[test]
fn a_publisher_that_outlives_its_ping_interval_still_closes_cleanly() {
    let broker = common::Broker::start();
    let out = pubcat()
        .args(["pub", &broker.url("ka"), "--ping-interval", "1ms"])
        .args(["-n", "20000", "hello"])
        .output()
        .unwrap();
    assert_code(&out, 0);
}
