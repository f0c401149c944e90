//! The `json` field of `-o json`: the real binary subscribed to a real
//! broker, its stdout read as JSON and through jq.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
