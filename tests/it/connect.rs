//! `pubcat connect`: lines in, messages out, through `pubcat serve` over
//! raw WebSocket and STOMP, piped and at a terminal.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::pty::Pty;
use crate::common::{Broker, assert_code, pubcat, run_within, spawn_reading, wait_with_timeout};

const LIMIT: Duration = Duration::from_secs(30);

/// A running `pubcat connect`, its stdin ours and its stdout lines read
/// as they come.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

impl Client {
    fn start(args: &[&str]) -> Client {
        let mut cmd = pubcat();
        cmd.arg("connect").args(args).stdin(Stdio::piped());
        let (mut child, stdout, stderr) = spawn_reading(&mut cmd);
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// The next `n` lines it prints, each within the bound.
    fn read(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.lines
                    .recv_timeout(LIMIT)
                    .unwrap_or_else(|_| panic!("line {} of {n} did not come", i + 1))
            })
            .collect()
    }

    /// Close its stdin and wait: (exit code, stdout lines still unread, stderr).
    fn end(mut self) -> (Option<i32>, Vec<String>, String) {
        drop(self.stdin.take());
        let code = wait_with_timeout(&mut self.child, Duration::from_secs(10)).code();
        let stderr = String::from_utf8_lossy(&self.stderr.join().unwrap()).to_string();
        (code, self.lines.iter().collect(), stderr)
    }
}

#[test]
fn two_clients_exchange_lines_through_serve_and_close_at_eof() {
    let b = Broker::start();
    let url = b.url("chat");
    let mut a = Client::start(&[&url, "-o", "raw"]);
    let mut c = Client::start(&[&url, "-o", "raw"]);
    b.wait_for_subscribers("chat", 2);
    let from_a = ["hello from a", "  spaces kept  ", "ünïcode ✓", "//x"];
    for line in from_a {
        a.type_line(line);
    }
    c.type_line("hi from c");
    c.type_line("/nope");
    c.type_line("again from c");
    // //x is the line /x; /nope is a command (unknown), not sent.
    let want_c = ["hello from a", "  spaces kept  ", "ünïcode ✓", "/x"];
    assert_eq!(c.read(4), want_c);
    assert_eq!(a.read(2), ["hi from c", "again from c"]);

    let (code, rest, stderr) = a.end();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(stderr.contains("connected to"), "{stderr}");
    let (code, rest, stderr) = c.end();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("unknown command /nope"))
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn binary_lines_arrive_as_binary_and_close_ends_the_session() {
    // -v: the broker logs each close with its code.
    let b = Broker::start_with(&["-v"]);
    let url = b.url("bin");
    let a = Client::start(&[&url, "-o", "json"]);
    let mut c = Client::start(&[&url]);
    b.wait_for_subscribers("bin", 2);
    c.type_line("/binary 00ff 10");
    c.type_line("/close 4001");
    let got: serde_json::Value = serde_json::from_str(&a.read(1)[0]).unwrap();
    assert_eq!(got["body_base64"], "AP8Q", "{got}");
    // /close ended c while its stdin was still open.
    let code = wait_with_timeout(&mut c.child, Duration::from_secs(10)).code();
    assert_eq!(code, Some(0));
    b.wait_for_log("client closed 4001");
    let (code, _, stderr) = a.end();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn stomp_clients_exchange_lines_on_a_destination_over_ws_and_sockjs() {
    let b = Broker::start();
    let sockjs = format!("stomp+sockjs+http://{}/_/sockjs", b.addr);
    let ws = format!("stomp+ws://{}/_/stomp", b.addr);
    let mut a = Client::start(&[&sockjs, "-t", "/topic/x", "-o", "raw"]);
    let mut c = Client::start(&[&ws, "-t", "/topic/x", "-o", "raw"]);
    b.wait_for_subscribers("x", 2);
    a.type_line("one");
    a.type_line("two");
    // STOMP subscribers hear their own SENDs too.
    assert_eq!(c.read(2), ["one", "two"]);
    assert_eq!(a.read(2), ["one", "two"]);
    c.type_line("/topic /topic/y");
    c.type_line("only on y");
    c.type_line("/topic /topic/x");
    c.type_line("three");
    assert_eq!(a.read(1), ["three"]);
    let (code, rest, stderr) = a.end();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    let (code, rest, stderr) = c.end();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(rest, ["three"], "{stderr}");
}

#[test]
fn the_server_going_away_ctrl_c_and_timeout_end_the_session() {
    let mut b = Broker::start();
    let url = b.url("end");
    let a = Client::start(&[&url]);
    let c = Client::start(&[&url, "--timeout", "1s"]);
    b.wait_for_subscribers("end", 2);
    // --timeout: listened that long, closed, exit 0, stdin still open.
    let code = wait_with_timeout(&mut { c }.child, Duration::from_secs(10)).code();
    assert_eq!(code, Some(0));
    let mut d = Client::start(&[&b.url("end2")]);
    b.wait_for_subscribers("end2", 1);
    // Ctrl-C, with stdin still open.
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(d.child.id() as i32, libc::SIGINT) };
    let code = wait_with_timeout(&mut d.child, Duration::from_secs(10)).code();
    let (_, _, stderr) = d.end();
    assert_eq!(code, Some(130), "{stderr}");
    // serve stopping closes every client with 1001, going away: all is well.
    unsafe { libc::kill(b.child.id() as i32, libc::SIGTERM) };
    let _ = wait_with_timeout(&mut b.child, Duration::from_secs(10));
    let mut a = a;
    let code = wait_with_timeout(&mut a.child, Duration::from_secs(10)).code();
    let (_, _, stderr) = a.end();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("the server closed the connection"),
        "{stderr}"
    );
}

#[test]
fn transports_that_cannot_send_and_receive_are_refused() {
    let b = Broker::start();
    for url in [
        format!("http://{}/t", b.addr),
        format!("ws://{}/t --transport poll", b.addr),
    ] {
        let args: Vec<&str> = ["connect"].into_iter().chain(url.split(' ')).collect();
        let out = run_within(&args, LIMIT);
        let stderr = assert_code(&out, 2);
        assert!(
            stderr.contains("sends and receives") && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
}

#[test]
fn a_card_arriving_while_a_line_is_half_typed_leaves_the_line_whole() {
    let b = Broker::start();
    let url = b.url("tty");
    let mut pty = Pty::open();
    let terminal = pty.take_terminal();
    let mut child = at_terminal(&url, terminal);
    let mut other = Client::start(&[&url, "-o", "raw"]);
    b.wait_for_subscribers("tty", 2);
    assert!(pty.shows("> "), "{:?}", pty.text());
    type_slowly(&pty, "half a ");
    assert!(pty.shows("half a "), "{:?}", pty.text());
    other.type_line("the card's body");
    assert!(pty.shows("the card's body"), "{:?}", pty.text());
    // The prompt and the half-typed line are drawn again below the card.
    let redrawn = |text: &str| {
        text.rsplit_once("the card's body")
            .is_some_and(|(_, after)| after.contains("> half a "))
    };
    let deadline = std::time::Instant::now() + LIMIT;
    while !redrawn(&pty.text()) {
        assert!(std::time::Instant::now() < deadline, "{:?}", pty.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    type_slowly(&pty, "line\r");
    assert_eq!(other.read(1), ["half a line"]);
    // Ctrl-D: closed cleanly.
    pty.type_keys("\x04");
    let code = wait_with_timeout(&mut child, Duration::from_secs(10)).code();
    let shown = pty.finish();
    assert_eq!(code, Some(0), "{shown:?}");
    assert!(shown.contains("pubcat: closed"), "{shown:?}");
    let (code, rest, stderr) = other.end();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
}

/// `pubcat connect URL` with stdin, stdout and stderr on `terminal`.
fn at_terminal(url: &str, terminal: std::fs::File) -> Child {
    let mut cmd = pubcat();
    cmd.args(["connect", url])
        .env("TERM", "xterm")
        .stdin(terminal.try_clone().unwrap())
        .stdout(terminal.try_clone().unwrap())
        .stderr(terminal);
    // The Command's copies of the terminal go with it.
    cmd.spawn().unwrap()
}

#[test]
fn ctrl_c_at_the_prompt_exits_130() {
    let b = Broker::start();
    let mut pty = Pty::open();
    let mut child = at_terminal(&b.url("cc"), pty.take_terminal());
    assert!(pty.shows("> "), "{:?}", pty.text());
    pty.type_keys("\x03");
    let code = wait_with_timeout(&mut child, Duration::from_secs(10)).code();
    let shown = pty.finish();
    assert_eq!(code, Some(130), "{shown:?}");
}

/// Type `keys` one at a time, each once the last one was echoed, as a
/// person does: rustyline 17, with an external printer, waits on the
/// terminal for the next key while keys it already read sit in its buffer
/// (typeahead shows one key late; bracketed pastes are read whole).
fn type_slowly(pty: &Pty, keys: &str) {
    for key in keys.chars() {
        let before = pty.text().len();
        pty.type_keys(&key.to_string());
        let deadline = std::time::Instant::now() + LIMIT;
        while pty.text().len() == before {
            assert!(std::time::Instant::now() < deadline, "{key:?} not echoed");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
