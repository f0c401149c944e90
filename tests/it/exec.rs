//! `--exec CMD` on `sub` and `tail`: the real binary runs a real shell
//! command for each message a real broker sends; the commands write what
//! they saw into files in a temporary directory, which the tests read.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::common::{Broker, collect, pubcat, publish_input, start_subscriber, wait_with_timeout};

const LIMIT: Duration = Duration::from_secs(60);

/// `pubcat ARGS` run in `dir` (the commands' files are relative to it),
/// with stdout and stderr piped, once the broker counts it on `topic`.
fn start(broker: &Broker, topic: &str, dir: &Path, args: &[&str]) -> Child {
    start_with(broker, topic, dir, args, |_| {})
}

fn start_with(
    broker: &Broker,
    topic: &str,
    dir: &Path,
    args: &[&str],
    adjust: impl FnOnce(&mut Command),
) -> Child {
    let mut cmd = pubcat();
    cmd.args(args).current_dir(dir);
    adjust(&mut cmd);
    start_subscriber(broker, topic, cmd)
}

/// [`start`], publish `input`'s lines to `topic`, then [`finish`].
fn exec_through(
    broker: &Broker,
    topic: &str,
    dir: &Path,
    args: &[&str],
    input: &[u8],
) -> (Option<i32>, String, String) {
    let child = start(broker, topic, dir, args);
    publish_input(&broker.url(topic), input, LIMIT);
    finish(child)
}

/// Wait for it to exit: (exit code, stdout, stderr).
fn finish(child: Child) -> (Option<i32>, String, String) {
    finish_then(child, || {})
}

/// [`finish`], calling `exited` as soon as pubcat has exited, before its
/// output is read to the end (a process it left behind would hold the
/// pipes open, and that wait would hide it).
fn finish_then(mut child: Child, exited: impl FnOnce()) -> (Option<i32>, String, String) {
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let status = wait_with_timeout(&mut child, LIMIT);
    exited();
    (
        status.code(),
        String::from_utf8(out.join().unwrap()).unwrap(),
        String::from_utf8(err.join().unwrap()).unwrap(),
    )
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

/// Wait (bounded) until `file` in `dir` has content: a command's sign
/// that it is running.
fn wait_for_file(dir: &Path, file: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = read(dir, file);
        if text.ends_with('\n') {
            return text;
        }
        assert!(Instant::now() < deadline, "{file} was never written");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait (bounded) until no process is left in process group `pgid`.
fn assert_group_gone(pgid: &str) {
    let pgid: i32 = pgid.trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: kill(2) with signal 0 only checks that the group exists.
    while unsafe { libc::kill(-pgid, 0) } == 0 {
        assert!(
            Instant::now() < deadline,
            "process group {pgid} is still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sse(broker: &Broker, topic: &str) -> String {
    format!("http://{}/{topic}", broker.addr)
}

fn interrupt(child: &Child) {
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
}

#[test]
fn exec_runs_the_command_once_per_message_in_order_with_its_variables() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    // Each command writes what it saw, and marks its start and end around
    // a pause: a command started before the last one ended would show.
    let command = r#"echo "start $PUBCAT_ID" >> order
printf '%s|%s|%s|%s|' "$PUBCAT_ID" "$PUBCAT_TOPIC" "${PUBCAT_EVENT-unset}" "${PUBCAT_BODY-unset}" >> vars
cat >> vars
echo >> vars
sleep 0.2
echo "end $PUBCAT_ID" >> order"#;
    let url = sse(&broker, "ex");
    let args = ["sub", &url, "-n", "3", "--exec", command];
    let input = b"one\n{\"n\": 2}\nthree\nfour\n";
    let (code, stdout, stderr) = exec_through(&broker, "ex", dir.path(), &args, input);
    assert_eq!(code, Some(0), "{stderr}");
    // With --exec and no -o, pubcat prints no message of its own.
    assert_eq!(stdout, "");
    assert!(!stderr.contains("--exec"), "{stderr}");
    // -n 3: three commands, the last one finished before pubcat exited.
    assert_eq!(
        read(dir.path(), "order"),
        "start 1\nend 1\nstart 2\nend 2\nstart 3\nend 3\n"
    );
    assert_eq!(
        read(dir.path(), "vars"),
        "1|ex|message|one|one\n2|ex|message|{\"n\": 2}|{\"n\": 2}\n3|ex|message|three|three\n"
    );
}

#[test]
fn a_body_the_environment_cannot_hold_is_on_stdin_only() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let command = r#"if [ "${PUBCAT_BODY+set}" ]; then b=${#PUBCAT_BODY}; else b=unset; fi
echo "id=${PUBCAT_ID-unset} event=${PUBCAT_EVENT-unset} env=$b stdin=$(wc -c | tr -d ' ')" >> vars"#;
    // Over a raw WebSocket a message has no id and no event.
    let url = broker.url("big");
    let child = start_with(
        &broker,
        "big",
        dir.path(),
        &["sub", &url, "-n", "4", "--exec", command],
        // Not inherited from pubcat's own environment either.
        |cmd| {
            cmd.env("PUBCAT_ID", "outer").env("PUBCAT_BODY", "outer");
        },
    );
    let mut lines = vec![b'x'; 64 * 1024];
    lines.push(b'\n');
    lines.extend(vec![b'y'; 64 * 1024 + 1]);
    lines.extend(b"\na\0b\n");
    publish_input(&url, &lines, LIMIT);
    let blob = dir.path().join("blob");
    std::fs::write(&blob, b"AB").unwrap();
    let out = pubcat()
        .args(["pub", &url, "--binary", "--file"])
        .arg(&blob)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        read(dir.path(), "vars"),
        concat!(
            "id=unset event=unset env=65536 stdin=65536\n",
            "id=unset event=unset env=unset stdin=65537\n",
            "id=unset event=unset env=unset stdin=3\n",
            "id=unset event=unset env=unset stdin=2\n",
        )
    );
}

#[test]
fn a_failing_command_is_reported_and_counted_and_the_stream_goes_on() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let command = r#"[ "$PUBCAT_BODY" != bad ] || exit 3
[ "$PUBCAT_BODY" != die ] || kill -9 $$
echo "$PUBCAT_BODY" >> done"#;
    let url = sse(&broker, "fail");
    // -q: the command's failures are errors, shown all the same.
    let args = ["sub", &url, "-q", "-n", "4", "--exec", command];
    let input = b"good\nbad\ndie\nfine\n";
    let (code, _, stderr) = exec_through(&broker, "fail", dir.path(), &args, input);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(read(dir.path(), "done"), "good\nfine\n");
    assert_eq!(
        stderr,
        concat!(
            "pubcat: --exec: the command for message 2 (id 2) exited with status 3\n",
            "pubcat: --exec: the command for message 3 (id 3) was killed by signal 9\n",
            "pubcat: --exec: 2 of 4 command(s) failed\n",
        )
    );
}

#[test]
fn a_command_that_cannot_start_is_a_failure_too() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let url = broker.url("nosh");
    // A PATH with no `sh` on it: nothing to run the command with.
    let child = start_with(
        &broker,
        "nosh",
        dir.path(),
        &["sub", &url, "-n", "1", "--exec", "true"],
        |cmd| {
            cmd.env("PATH", dir.path());
        },
    );
    publish_input(&url, b"x\n", LIMIT);
    let (code, _, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("pubcat: --exec: the command for message 1 could not be started: "),
        "{stderr}"
    );
    assert_eq!(lines[1], "pubcat: --exec: 1 of 1 command(s) failed");
}

#[test]
fn exec_fail_stop_ends_at_the_first_failure_with_exit_6() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let command = r#"[ "$PUBCAT_BODY" != bad ] || exit 7
echo "$PUBCAT_BODY" >> done"#;
    for verb in ["sub", "tail"] {
        let topic = format!("stop-{verb}");
        let url = sse(&broker, &topic);
        let state = dir.path().join(format!("{verb}.state"));
        let mut args = vec![verb, &url, "--exec", command, "--exec-fail", "stop"];
        if verb == "tail" {
            args.extend(["--state", state.to_str().unwrap()]);
        }
        let input = b"ok\nbad\nlater\n";
        let (code, _, stderr) = exec_through(&broker, &topic, dir.path(), &args, input);
        assert_eq!(code, Some(6), "{verb}: {stderr}");
        assert_eq!(
            stderr.lines().last().unwrap(),
            "pubcat: error: --exec: the command for message 2 (id 2) exited with status 7; stopping (--exec-fail stop)",
            "{verb}"
        );
        // Nothing ran after the failure, and no summary repeats it.
        assert_eq!(read(dir.path(), "done"), "ok\n", "{verb}");
        assert_eq!(stderr.lines().count(), 1, "{verb}: {stderr}");
        std::fs::remove_file(dir.path().join("done")).unwrap();
        if verb == "tail" {
            // --state claims the message whose command succeeded, no more.
            assert_eq!(std::fs::read_to_string(&state).unwrap(), "1\n");
        }
    }
}

#[test]
fn with_o_or_format_each_message_is_printed_before_its_command_runs() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    // The command's own output goes to pubcat's stdout.
    let command = r#"echo "ran $PUBCAT_BODY""#;
    for (args, want) in [
        (&["-o", "line"][..], "a\nran a\nb\nran b\n"),
        (&["--format", "{id}:{body}"], "1:a\nran a\n2:b\nran b\n"),
    ] {
        let topic = format!("print-{}", args[0].trim_start_matches('-'));
        let url = sse(&broker, &topic);
        let mut all = vec!["sub", &url, "-n", "2", "--exec", command];
        all.extend(args);
        let (code, stdout, stderr) = exec_through(&broker, &topic, dir.path(), &all, b"a\nb\n");
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(stdout, want, "{args:?}");
    }
}

#[test]
fn tail_on_ctrl_c_asks_the_running_command_to_stop_and_waits_for_it() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    // The second message's command runs until it is asked to stop, then
    // says so, as a command cleaning up would.
    let command = r#"echo "$PUBCAT_ID" >> ran
[ "$PUBCAT_ID" = 2 ] || exit 0
trap 'echo stopped >> log; exit 0' TERM
sleep 30 &
echo $$ > pgid
wait"#;
    let url = sse(&broker, "ctrlc");
    let child = start(
        &broker,
        "ctrlc",
        dir.path(),
        &["tail", &url, "--state", "state", "--exec", command],
    );
    publish_input(&broker.url("ctrlc"), b"one\ntwo\n", LIMIT);
    let pgid = wait_for_file(dir.path(), "pgid");
    interrupt(&child);
    // What it started (the sleep) was asked too.
    let (code, _, stderr) = finish_then(child, || assert_group_gone(&pgid));
    assert_eq!(code, Some(130), "{stderr}");
    // It stopped by itself within the grace: not killed, not a failure.
    assert_eq!(read(dir.path(), "log"), "stopped\n");
    assert!(!stderr.contains("--exec"), "{stderr}");
    assert_eq!(read(dir.path(), "ran"), "1\n2\n");
    // --state claims message 1, not the one whose command was cut short.
    assert_eq!(read(dir.path(), "state"), "1\n");
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    // sleep inherits the ignored SIGTERM.
    let command = "trap '' TERM; echo $$ > pgid; sleep 30";
    let url = broker.url("stubborn");
    let child = start(
        &broker,
        "stubborn",
        dir.path(),
        &["sub", &url, "--exec", command],
    );
    publish_input(&url, b"x\n", LIMIT);
    let pgid = wait_for_file(dir.path(), "pgid");
    let interrupted = Instant::now();
    interrupt(&child);
    let mut took = Duration::ZERO;
    let (code, _, stderr) = finish_then(child, || {
        took = interrupted.elapsed();
        assert_group_gone(&pgid);
    });
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        stderr,
        "pubcat: --exec: the command for message 1 was killed, still running 2s after SIGTERM\n"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        "{took:?}"
    );
}

#[test]
fn timeout_bounds_a_running_command_too() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let url = broker.url("slow");
    let started = Instant::now();
    let child = start(
        &broker,
        "slow",
        dir.path(),
        &[
            "sub",
            &url,
            "-n",
            "2",
            "--timeout",
            "5s",
            "--exec",
            "echo $$ > pgid; sleep 30",
        ],
    );
    publish_input(&url, b"x\n", LIMIT);
    let pgid = wait_for_file(dir.path(), "pgid");
    let mut took = Duration::ZERO;
    let (code, _, stderr) = finish_then(child, || {
        took = started.elapsed();
        assert_group_gone(&pgid);
    });
    // The --timeout's exit, within its bound (5 s, the command's 2 s of
    // grace, 1 s for the close), not after the command's 30 s.
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("timed out after 5s with 1 message(s)"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(15), "{took:?}");
}
