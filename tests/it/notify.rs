//! `--notify` on `sub` and `tail`: the real binary against a real broker,
//! a pseudo-terminal made its controlling terminal (its `/dev/tty`, and its
//! stderr) and stdout a pipe. What reaches the terminal is compared byte
//! for byte; stdout must hold the messages and nothing else.

use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common::pty::{self, Pty};
use crate::common::{Broker, collect, pubcat, publish_input, wait_with_timeout};

const LIMIT: Duration = Duration::from_secs(30);

/// What `--notify auto` reads, and tmux's `TMUX`: none may come in from
/// the terminal the tests run in.
const TERMINAL_VARS: [&str; 10] = [
    "TMUX",
    "TERM_PROGRAM",
    "TERM",
    "KITTY_WINDOW_ID",
    "WEZTERM_PANE",
    "GHOSTTY_RESOURCES_DIR",
    "WT_SESSION",
    "ITERM_SESSION_ID",
    "LC_TERMINAL",
    "STY",
];

/// `pubcat -q ARGS` with only `vars` of [`TERMINAL_VARS`] set, on a
/// terminal of its own (controlling, and stderr) with stdout piped.
struct OnTerminal {
    child: Child,
    pty: Pty,
    stdout: JoinHandle<Vec<u8>>,
}

impl OnTerminal {
    fn start(args: &[&str], vars: &[(&str, &str)]) -> OnTerminal {
        let mut pty = Pty::open();
        let mut cmd = pubcat();
        cmd.arg("-q").args(args);
        for var in TERMINAL_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(pty.take_terminal());
        pty::controlling(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        drop(cmd);
        let stdout = collect(child.stdout.take().unwrap());
        OnTerminal { child, pty, stdout }
    }

    /// Wait for it to exit: (exit code, stdout, what the terminal showed).
    fn finish(mut self) -> (Option<i32>, String, String) {
        let status = wait_with_timeout(&mut self.child, LIMIT);
        let stdout = String::from_utf8(self.stdout.join().unwrap()).unwrap();
        (status.code(), stdout, self.pty.finish())
    }
}

/// `sub URL -n N --notify ARGS…` of `topic` on a terminal with `vars`, fed
/// `input`'s lines (N of them): asserts it exits 0 with the messages, and
/// nothing else, on stdout; returns what the terminal showed, and the pid.
fn sub(
    broker: &Broker,
    topic: &str,
    notify: &[&str],
    vars: &[(&str, &str)],
    input: &str,
) -> (String, u32) {
    let url = broker.url(topic);
    let n = input.lines().count().to_string();
    let args = [&["sub", &url, "--count", &n][..], notify].concat();
    let sub = OnTerminal::start(&args, vars);
    let pid = sub.child.id();
    broker.wait_for_subscribers(topic, 1);
    publish_input(&url, input.as_bytes(), LIMIT);
    let (code, stdout, shown) = sub.finish();
    assert_eq!(code, Some(0), "{shown:?}");
    assert_eq!(stdout, input);
    (shown, pid)
}

#[test]
fn osc777_goes_to_the_terminal_and_nothing_to_stdout() {
    let broker = Broker::start();
    // `sub` asserts that stdout holds the message and nothing else.
    let (shown, _) = sub(&broker, "n1", &["--notify", "osc777"], &[], "hello\n");
    assert_eq!(shown, "\x1b]777;notify;n1;hello\x07");
}

/// Variables of a terminal.
type Vars<'a> = &'a [(&'a str, &'a str)];

/// What `--notify auto` shows for a message "hello", given the
/// notification's OSC 99 id.
type Expected = fn(&str) -> String;

#[test]
fn auto_picks_the_escape_of_the_terminal_it_runs_in() {
    let broker = Broker::start();
    // A topic each: a subscriber that has just left may still be counted.
    let cases: [(&str, Vars, Expected); 3] = [
        (
            "a1",
            &[("TERM_PROGRAM", "WezTerm"), ("TERM", "xterm-256color")],
            |_| "\x1b]777;notify;a1;hello\x07".into(),
        ),
        // kitty's own, in two chunks, base64 ("a2", "hello"), named by pid
        // and count.
        ("a2", &[("TERM", "xterm-kitty")], |id| {
            format!("\x1b]99;i={id}:d=0:e=1;YTI=\x1b\\\x1b]99;i={id}:p=body:e=1;aGVsbG8=\x1b\\")
        }),
        // A terminal pubcat does not know: the bell.
        ("a3", &[("TERM", "xterm-256color")], |_| "\x07".into()),
    ];
    for (topic, vars, expected) in cases {
        let (shown, pid) = sub(&broker, topic, &["--notify", "auto"], vars, "hello\n");
        assert_eq!(shown, expected(&format!("pubcat-{pid}-1")), "{vars:?}");
    }
}

#[test]
fn inside_tmux_the_escape_is_wrapped_for_passthrough() {
    let broker = Broker::start();
    // tmux names itself in TERM_PROGRAM and TERM; WezTerm's pane variable,
    // from before tmux started, says what is outside.
    let tmux = [
        ("TMUX", "/tmp/tmux-1000/default,4242,0"),
        ("TERM_PROGRAM", "tmux"),
        ("TERM", "tmux-256color"),
        ("WEZTERM_PANE", "0"),
    ];
    let (shown, _) = sub(&broker, "t1", &["--notify", "auto"], &tmux, "hello\n");
    assert_eq!(shown, "\x1bPtmux;\x1b\x1b]777;notify;t1;hello\x07\x1b\\");
}

#[test]
fn a_burst_is_one_notification_then_its_sum_when_the_second_is_over() {
    let broker = Broker::start();
    publish_input(&broker.url("b1"), b"m1\nm2\nm3\nm4\nm5\n", LIMIT);
    // tail -n 5 gets the five at once, as history; nothing comes after.
    let url = format!("http://{}/b1", broker.addr);
    let tail = OnTerminal::start(&["tail", &url, "-n", "5", "--notify", "osc777"], &[]);
    let first = "\x1b]777;notify;b1;m1\x07";
    let sum = "\x1b]777;notify;b1;4 new messages\x07";
    let first_at = tail.pty.shown_at(first);
    let sum_at = tail.pty.shown_at(sum);
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(tail.child.id() as i32, libc::SIGINT) };
    let (code, stdout, shown) = tail.finish();
    assert_eq!(shown, format!("{first}{sum}"));
    assert_eq!(code, Some(130));
    assert_eq!(stdout, "m1\nm2\nm3\nm4\nm5\n");
    // The sum waited for the second to end, and no longer than it needed.
    let gap = sum_at.unwrap() - first_at.unwrap();
    assert!(
        gap >= Duration::from_millis(900) && gap < Duration::from_secs(5),
        "{gap:?}"
    );
}

#[test]
fn notify_when_limits_notifications_to_matching_bodies() {
    let broker = Broker::start();
    let when = ["--notify", "osc777", "--notify-when", "^fail"];
    let (shown, _) = sub(&broker, "w1", &when, &[], "ok 1\nfailed 2\nok 3\n");
    assert_eq!(shown, "\x1b]777;notify;w1;failed 2\x07");
}

#[test]
fn a_hostile_body_cannot_put_an_escape_on_the_terminal() {
    let broker = Broker::start();
    let body = "evil\x1b]0;pwned\x07 \u{9b}31m; rm -rf\u{202e}\n";
    let (shown, _) = sub(&broker, "h1", &["--notify", "osc777"], &[], body);
    // ESC, BEL, CSI and the override dropped; `;` cannot end the field.
    assert_eq!(shown, "\x1b]777;notify;h1;evil]0,pwned 31m, rm -rf\x07");
}

#[test]
fn without_a_terminal_notify_warns_once_and_goes_on() {
    warns_once_and_goes_on(
        "x1",
        "osc777",
        &[],
        "--notify: no terminal to show notifications on (/dev/tty",
    );
}

/// `--notify desktop` where no notification service answers (no D-Bus
/// session bus), and no terminal either, which it does not need.
#[cfg(all(feature = "desktop-notify", target_os = "linux"))]
#[test]
fn desktop_without_a_notification_service_warns_once_and_goes_on() {
    warns_once_and_goes_on(
        "d1",
        "desktop",
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/pubcat-test-bus",
        )],
        "--notify: the desktop's notification service did not show it",
    );
}

/// `sub --count 2 --notify KIND` with no controlling terminal and `vars`
/// set: it prints both messages, exits 0, and says `warning` once on
/// stderr, in a line that has `says`.
fn warns_once_and_goes_on(topic: &str, kind: &str, vars: &[(&str, &str)], says: &str) {
    let broker = Broker::start();
    let url = broker.url(topic);
    let mut cmd = pubcat();
    cmd.args(["sub", &url, "--count", "2", "--notify", kind])
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    pty::without_terminal(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    broker.wait_for_subscribers(topic, 1);
    publish_input(&url, b"a\nb\n", LIMIT);
    let status = wait_with_timeout(&mut child, LIMIT);
    let stdout = String::from_utf8(out.join().unwrap()).unwrap();
    let stderr = String::from_utf8(err.join().unwrap()).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "a\nb\n");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains(says), "{stderr}");
}

#[cfg(not(feature = "desktop-notify"))]
#[test]
fn desktop_is_a_usage_error_in_a_build_without_it() {
    let out = pubcat()
        .args(["sub", "ws://127.0.0.1:9/t", "--notify", "desktop"])
        .output()
        .unwrap();
    let stderr = crate::common::assert_code(&out, 2);
    assert!(stderr.contains("desktop-notify"), "{stderr}");
}
