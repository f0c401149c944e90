//! `--format TEMPLATE` and the `json` field of `-o json`: the real binary
//! subscribed to a real broker, its stdout compared byte for byte.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::cli::refused;
use crate::common::pty::Pty;
use crate::common::{Broker, collect, json_lines, pubcat, start_subscriber, wait_with_timeout};

const LIMIT: Duration = Duration::from_secs(60);

fn sub(url: &str, args: &[&str]) -> Command {
    let mut cmd = pubcat();
    cmd.args(["sub", url]).args(args);
    cmd
}

/// Wait for it to exit 0; its stdout.
fn stdout_of(mut child: Child) -> Vec<u8> {
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let status = wait_with_timeout(&mut child, LIMIT);
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(status.code(), Some(0), "{stderr}");
    out.join().unwrap()
}

/// `pubcat pub URL MESSAGES...` (each argument one message), exit 0.
fn publish(url: &str, args: &[&str]) {
    let out = pubcat()
        .args(["pub", url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
}

fn sse(broker: &Broker, topic: &str) -> String {
    format!("http://{}/{topic}", broker.addr)
}

#[test]
fn format_prints_one_line_per_message_from_the_template() {
    let broker = Broker::start();
    let template =
        r"{id} {topic} {event} {body_json.items.0.name} <{body_json.nope.0}> {body}\t{{}}\\";
    let mut cmd = sub(&sse(&broker, "fmt"), &["-n", "3", "--format", template]);
    // PUBCAT_OUTPUT is a standing preference: --format wins over it.
    cmd.env("PUBCAT_OUTPUT", "json");
    let child = start_subscriber(&broker, "fmt", cmd);
    publish(
        &broker.url("fmt"),
        &[r#"{"items":[{"name":"first"}]}"#, "not json", "two\nlines"],
    );
    assert_eq!(
        String::from_utf8(stdout_of(child)).unwrap(),
        concat!(
            "1 fmt message first <> {\"items\":[{\"name\":\"first\"}]}\t{}\\\n",
            "2 fmt message  <> not json\t{}\\\n",
            "3 fmt message  <> two\\nlines\t{}\\\n",
        )
    );
}

#[test]
fn format_shows_headers_by_name_and_a_binary_body_as_hex() {
    let broker = Broker::start();
    let url = format!("stomp+ws://{}/_/stomp", broker.addr);
    let template = "{headers.destination} {headers.Content-Type} [{headers.nope}] {body}";
    let child = start_subscriber(
        &broker,
        "fmt",
        sub(&url, &["-t", "/topic/fmt", "-n", "2", "--format", template]),
    );
    publish(&broker.url("fmt"), &["--binary", "AB\u{1}"]);
    publish(&broker.url("fmt"), &["text"]);
    assert_eq!(
        String::from_utf8(stdout_of(child)).unwrap(),
        "/topic/fmt application/octet-stream [] 414201\n/topic/fmt text/plain [] text\n"
    );
}

#[test]
fn on_a_terminal_format_shows_a_servers_control_characters_as_escapes() {
    let broker = Broker::start();
    let mut pty = Pty::open();
    let mut cmd = sub(&broker.url("tty"), &["-n", "1", "--format", "[{body}]"]);
    cmd.stdin(Stdio::null())
        .stdout(pty.take_terminal())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    broker.wait_for_subscribers("tty", 1);
    publish(&broker.url("tty"), &["a\x1b[2J\x1b]0;owned\x07b"]);
    let status = wait_with_timeout(&mut child, LIMIT);
    let shown = pty.finish();
    assert!(status.success(), "{shown:?}");
    assert!(
        shown.contains("[a\\x1b[2J\\x1b]0;owned\\x07b]"),
        "{shown:?}"
    );
    assert!(!shown.contains('\x1b'), "{shown:?}");
}

#[test]
fn bad_templates_and_format_beside_o_exit_2_with_one_line() {
    let url = ":1/never";
    for (args, says) in [
        (
            &["sub", url, "--format", "{nope}"][..],
            "unknown placeholder {nope}",
        ),
        (
            &["tail", url, "--format", "{id} {body"],
            "the { at column 6 is not closed",
        ),
        (&["sub", url, "--format", "a}"], "a lone } at column 2"),
        (&["sub", url, "--format", r"\q"], r"unknown escape \q"),
        (
            &["sub", url, "--format", "{body_json.a..b}"],
            "has an empty step",
        ),
        (
            &["sub", url, "--format", "{id}", "-o", "json"],
            "give one of them",
        ),
    ] {
        let line = refused(args);
        assert!(line.contains(says), "{args:?}: {line}");
    }
}

#[test]
fn json_output_carries_a_json_body_parsed_beside_the_body() {
    let broker = Broker::start();
    let child = start_subscriber(
        &broker,
        "env",
        sub(&broker.url("env"), &["-n", "3", "-o", "json"]),
    );
    publish(
        &broker.url("env"),
        &["{\"status\": \"ready\",\n \"n\": [1, 2]}", "plain", "42"],
    );
    let stdout = stdout_of(child);
    let rows = json_lines(&stdout);
    assert_eq!(rows.len(), 3, "{}", String::from_utf8_lossy(&stdout));
    assert_eq!(
        rows[0]["json"],
        serde_json::json!({"status": "ready", "n": [1, 2]})
    );
    assert_eq!(rows[0]["body"], "{\"status\": \"ready\",\n \"n\": [1, 2]}");
    assert!(rows[1].get("json").is_none(), "{}", rows[1]);
    assert_eq!(rows[1]["body"], "plain");
    assert_eq!(rows[2]["json"], 42);
    assert_eq!(rows[2]["body"], "42");
}

#[test]
fn jq_reads_the_json_field_of_pubcats_output() {
    let jq = Command::new("jq").arg("--version").output();
    assert!(
        jq.is_ok_and(|o| o.status.success()),
        "this test needs jq: apt-get install jq (.ci/run installs it)"
    );
    let broker = Broker::start();
    let mut sub = start_subscriber(
        &broker,
        "jq",
        sub(&broker.url("jq"), &["-n", "2", "-o", "json"]),
    );
    let mut jq = Command::new("jq")
        .args(["-r", ".json.status"])
        .stdin(sub.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    publish(
        &broker.url("jq"),
        &[r#"{"status":"ready"}"#, r#"{"status":"done","n":1}"#],
    );
    let status = wait_with_timeout(&mut sub, LIMIT);
    assert!(status.success(), "{status}");
    let out = collect(jq.stdout.take().unwrap());
    assert!(wait_with_timeout(&mut jq, LIMIT).success());
    assert_eq!(
        String::from_utf8(out.join().unwrap()).unwrap(),
        "ready\ndone\n"
    );
}
