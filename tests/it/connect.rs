//! `pubcat connect`, piped: lines in, messages out, through `pubcat serve`
//! over raw WebSocket and STOMP.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
    let b = Broker::start();
    let url = b.url("bin");
    let a = Client::start(&[&url, "-o", "json"]);
    let mut c = Client::start(&[&url]);
    b.wait_for_subscribers("bin", 2);
    c.type_line("/binary 00ff 10");
    c.type_line("/close");
    let got: serde_json::Value = serde_json::from_str(&a.read(1)[0]).unwrap();
    assert_eq!(got["body_base64"], "AP8Q", "{got}");
    // /close ended c while its stdin was still open.
    let code = wait_with_timeout(&mut c.child, Duration::from_secs(10)).code();
    assert_eq!(code, Some(0));
    let (code, _, stderr) = a.end();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn stomp_clients_exchange_lines_on_a_destination() {
    let b = Broker::start();
    let url = format!("stomp+ws://{}/_/stomp", b.addr);
    let mut a = Client::start(&[&url, "-t", "/topic/x", "-o", "raw"]);
    let mut c = Client::start(&[&url, "-t", "/topic/x", "-o", "raw"]);
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
