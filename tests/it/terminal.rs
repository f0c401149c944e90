//! What only a person at a terminal sees: the status line `sub` and `tail`
//! write to a terminal's stderr once connected, and nowhere else.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::pty::Pty;
use crate::common::{Broker, collect, pubcat, publish_input, wait_with_timeout};

/// `cmd` run with stderr on `stderr` (a terminal, or a pipe when None)
/// and stdout a pipe, until it has printed one message published to
/// `topic`: (stdout, stderr when piped).
fn until_one_message(
    broker: &Broker,
    topic: &str,
    mut cmd: Command,
    stderr: Option<&mut Pty>,
) -> (String, String) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    match stderr {
        Some(pty) => cmd.stderr(pty.take_terminal()),
        None => cmd.stderr(Stdio::piped()),
    };
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let out = collect(child.stdout.take().unwrap());
    let err = child.stderr.take().map(collect);
    broker.wait_for_subscribers(topic, 1);
    publish_input(&broker.url(topic), b"hello\n", Duration::from_secs(30));
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let err = err.map(|e| e.join().unwrap()).unwrap_or_default();
    (
        String::from_utf8(out.join().unwrap()).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn sub(broker: &Broker, topic: &str, extra: &[&str]) -> Command {
    let mut cmd = pubcat();
    cmd.args(["sub", &broker.url(topic), "--count", "1"])
        .args(extra);
    cmd
}

#[test]
fn sub_says_where_it_listens_on_a_terminals_stderr_dimmed() {
    let broker = Broker::start();
    let mut pty = Pty::open();
    let (stdout, _) = until_one_message(&broker, "s1", sub(&broker, "s1", &[]), Some(&mut pty));
    let shown = pty.finish();
    let url = broker.url("s1");
    assert!(
        shown.contains(&format!("\x1b[2mpubcat: listening on {url}\x1b[0m")),
        "{shown:?}"
    );
    // Never on stdout: that is the messages'.
    assert_eq!(stdout, "hello\n");
}

#[test]
fn sub_says_nothing_of_it_on_a_pipe_or_with_q() {
    let broker = Broker::start();
    let (stdout, stderr) = until_one_message(&broker, "s2", sub(&broker, "s2", &[]), None);
    assert_eq!(stdout, "hello\n");
    assert!(!stderr.contains("listening"), "{stderr:?}");

    let mut pty = Pty::open();
    until_one_message(&broker, "s3", sub(&broker, "s3", &["-q"]), Some(&mut pty));
    let shown = pty.finish();
    assert!(!shown.contains("listening"), "{shown:?}");
}

#[test]
fn no_color_leaves_the_status_line_undimmed() {
    let broker = Broker::start();
    let mut pty = Pty::open();
    let mut cmd = sub(&broker, "s4", &[]);
    cmd.env("NO_COLOR", "1");
    until_one_message(&broker, "s4", cmd, Some(&mut pty));
    let shown = pty.finish();
    assert!(shown.contains("pubcat: listening on ws://"), "{shown:?}");
    assert!(!shown.contains('\x1b'), "{shown:?}");
}

#[test]
fn tail_says_where_it_listens_on_a_terminal() {
    let broker = Broker::start();
    let mut pty = Pty::open();
    let mut cmd = pubcat();
    cmd.args(["tail", &broker.url("t1")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(pty.take_terminal());
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let said = pty.shows(&format!("listening on {}", broker.url("t1")));
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    wait_with_timeout(&mut child, Duration::from_secs(30));
    let shown = pty.finish();
    assert!(said, "{shown:?}");
}
