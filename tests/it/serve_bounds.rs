//! `pubcat serve`'s limits, through the real binary: a cap on topics on
//! every transport, idle topics removed, history bounded in bytes and age,
//! and a replay of large messages that comes whole, a page at a time.

use std::time::{Duration, Instant};

use crate::common::{self, Broker, Lines, assert_code, http, http_with, pubcat, run_within};

const LIMIT: Duration = Duration::from_secs(30);

fn stats(b: &Broker) -> serde_json::Value {
    let (status, body) = http(b.addr, "GET", "/_/stats", b"");
    assert_eq!(status, 200);
    serde_json::from_slice(&body).expect("stats json")
}

/// Wait (bounded) until `/_/stats` satisfies `ok`.
fn wait_for_stats(b: &Broker, what: &str, ok: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let s = stats(b);
        if ok(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "never {what}: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn topics(s: &serde_json::Value) -> Vec<String> {
    s["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["topic"].as_str().unwrap().to_string())
        .collect()
}

fn post(b: &Broker, path: &str, body: &[u8]) -> (u16, String) {
    let (status, body) = http(b.addr, "POST", path, body);
    (status, String::from_utf8_lossy(&body).to_string())
}

#[test]
fn a_full_broker_refuses_new_topics_on_every_transport_and_counts_them() {
    let b = Broker::start_with(&["--max-topics", "2"]);
    assert_eq!(post(&b, "/a", b"1"), (200, "{\"id\":1}\n".to_string()));
    assert_eq!(post(&b, "/b", b"1").0, 200);

    let (status, body) = post(&b, "/c", b"1");
    assert_eq!(status, 503);
    assert_eq!(
        body,
        "refused: the broker has 2 topics, its --max-topics; try again when some are idle\n"
    );
    let sse = [("Accept", "text/event-stream")];
    assert_eq!(http_with(b.addr, "GET", "/c", b"", &sse).0, 503);
    assert_eq!(http(b.addr, "GET", "/c?since=0", b"").0, 503);
    let ws = format!("ws://{}/c", b.addr);
    let out = run_within(&["sub", &ws, "--timeout", "10s"], LIMIT);
    let err = assert_code(&out, 4);
    assert!(err.contains("503"), "{err}");
    let stomp = format!("stomp+ws://{}/_/stomp", b.addr);
    let out = run_within(
        &["sub", &stomp, "-t", "/topic/c", "--timeout", "10s"],
        LIMIT,
    );
    let err = assert_code(&out, 4);
    assert!(err.contains("too many destinations"), "{err}");

    let s = stats(&b);
    assert_eq!(s["refused"]["topics"], 5, "{s}");
    assert_eq!(topics(&s), ["a", "b"]);
    b.wait_for_log("refused: ");
    // The topics there still work.
    assert_eq!(post(&b, "/a", b"2"), (200, "{\"id\":2}\n".to_string()));
}

/// A topic only subscribed to (SSE, long-poll, STOMP) goes with its last
/// client: it neither stays in `/_/stats` nor takes a place under the cap.
#[test]
fn subscribe_only_topics_go_when_their_client_leaves() {
    let b = Broker::start_with(&["--max-topics", "1"]);
    let sse = format!("http://{}/s", b.addr);
    let stomp = format!("stomp+ws://{}/_/stomp", b.addr);
    let clients: [&[&str]; 3] = [
        &["sub", &sse, "-n", "1", "--timeout", "1s"],
        &[
            "sub",
            &sse,
            "--transport",
            "poll",
            "-n",
            "1",
            "--timeout",
            "1s",
        ],
        &[
            "sub",
            &stomp,
            "-t",
            "/topic/s",
            "-n",
            "1",
            "--timeout",
            "1s",
        ],
    ];
    for (i, args) in clients.into_iter().enumerate() {
        // The client gets its subscription (exit 1: --timeout, not a
        // refusal), and the topic is gone once it has left.
        assert_code(&run_within(args, LIMIT), 1);
        // (A long-poll client's every request subscribes anew: each may
        // make and remove the topic.)
        wait_for_stats(&b, "removed the topic", |s| {
            topics(s).is_empty() && s["removed"]["topics"].as_u64() > Some(i as u64)
        });
    }
    assert_eq!(stats(&b)["refused"]["topics"], 0);
    assert_eq!(post(&b, "/other", b"x").0, 200);
}

#[test]
fn expired_history_goes_and_its_topic_comes_back_with_its_ids() {
    let b = Broker::start_with(&["--retain-for", "300ms"]);
    assert_eq!(post(&b, "/t", b"1").0, 200);
    assert_eq!(post(&b, "/t", b"2").0, 200);
    wait_for_stats(&b, "expired the topic", |s| topics(s).is_empty());
    let s = stats(&b);
    assert_eq!(
        (&s["evicted"]["expired"], &s["removed"]["topics"]),
        (&2.into(), &1.into()),
        "{s}"
    );
    assert_eq!(post(&b, "/t", b"3"), (200, "{\"id\":3}\n".to_string()));
    // A reader from before is told what it missed and gets the rest.
    let url = format!("http://{}/t?since=1", b.addr);
    let out = run_within(
        &["sub", &url, "-n", "1", "-o", "json", "--timeout", "10s"],
        LIMIT,
    );
    assert_code(&out, 0);
    let got = common::json_lines(&out.stdout);
    assert_eq!((&got[0]["id"], &got[0]["body"]), (&"3".into(), &"3".into()));
}

#[test]
fn history_is_bounded_in_bytes_and_counts_what_it_evicts() {
    let b = Broker::start_with(&["--history-bytes", "100K"]);
    let body = |i: usize| format!("{i:02}{}", "x".repeat(30 * 1024 - 2));
    for i in 1..=10 {
        assert_eq!(post(&b, "/t", body(i).as_bytes()).0, 200);
    }
    let s = stats(&b);
    let t = &s["topics"][0];
    assert_eq!(t["history"], 3, "{s}");
    assert_eq!(t["history_bytes"], 3 * (30 * 1024 + 128));
    assert_eq!(s["evicted"]["history_bytes"], 7);
    assert_eq!(s["kept_bytes"], 3 * (30 * 1024 + 128));
    let url = format!("http://{}/t?since=0", b.addr);
    let out = run_within(
        &["sub", &url, "--transport", "poll", "-n", "3", "-o", "raw"],
        LIMIT,
    );
    assert_code(&out, 0);
    let want: String = (8..=10).map(|i| body(i) + "\n").collect();
    assert!(out.stdout == want.as_bytes(), "not the last three, exactly");
}

/// Three concurrent `?since=0` of a history of large messages each get
/// the first page (a message larger than a page is a page of its own),
/// byte for byte; and every transport replays all of it.
#[test]
fn a_history_of_large_messages_replays_whole_a_page_at_a_time() {
    const N: usize = 6;
    let b = Broker::start_with(&["--history-bytes", "64M"]);
    let body = |i: usize| {
        let mut s = format!("{i} ");
        while s.len() < 3 << 20 {
            s.push_str("\"quoted\" \\ line\tend ✓ ");
        }
        s
    };
    for i in 1..=N {
        assert_eq!(post(&b, "/big", body(i).as_bytes()).0, 200);
    }
    let pages: Vec<_> = (0..3)
        .map(|_| {
            let addr = b.addr;
            std::thread::spawn(move || http(addr, "GET", "/big?since=0", b""))
        })
        .collect();
    for page in pages {
        let (status, json) = page.join().unwrap();
        assert_eq!(status, 200);
        let items: serde_json::Value = serde_json::from_slice(&json).expect("a JSON page");
        assert_eq!(items.as_array().map(Vec::len), Some(1));
        assert_eq!(items[0]["id"], 1);
        assert!(items[0]["body"] == body(1).as_str(), "page body differs");
    }
    let want: String = (1..=N).map(|i| body(i) + "\n").collect();
    for (scheme, transport) in [("http", "poll"), ("http", "sse"), ("ws", "ws")] {
        let url = format!("{scheme}://{}/big?since=0", b.addr);
        let n = N.to_string();
        let out = run_within(
            &[
                "sub",
                &url,
                "--transport",
                transport,
                "--max-message-size",
                "4M",
                "-n",
                &n,
                "-o",
                "raw",
                "--timeout",
                "60s",
            ],
            LIMIT * 2,
        );
        assert_code(&out, 0);
        assert!(out.stdout == want.as_bytes(), "{transport}: not every byte");
    }
    // Pages are answers, not subscribers: nothing is left behind.
    wait_for_stats(&b, "no subscriber left", |s| {
        s["topics"][0]["subscribers"] == 0
    });
}

/// `/_/metrics` is `/_/stats` in the Prometheus text format: a scraper
/// reads the same numbers.
#[test]
fn metrics_give_the_stats_numbers_as_prometheus_series() {
    let broker = Broker::start();
    for body in ["a", "bb", "ccc"] {
        let (status, _) = http(broker.addr, "POST", "/metered", body.as_bytes());
        assert_eq!(status, 200);
    }
    let (status, body) = http(broker.addr, "GET", "/_/metrics", b"");
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    for line in [
        "# TYPE pubcat_messages_published_total counter\npubcat_messages_published_total 3\n",
        "pubcat_messages_published_bytes_total 6\n",
        "# TYPE pubcat_topics gauge\npubcat_topics 1\n",
        "pubcat_topic_last_id{topic=\"metered\"} 3\n",
        "pubcat_refused_topics_total 0\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    // Connections by transport: one WebSocket and one SSE subscriber.
    let subs: Vec<Lines> = ["ws", "sse"]
        .iter()
        .map(|t| {
            let mut cmd = pubcat();
            cmd.args(["sub", &broker.url("metered"), "--transport", t]);
            Lines::spawn(cmd)
        })
        .collect();
    broker.wait_for_subscribers("metered", 2);
    let (_, body) = http(broker.addr, "GET", "/_/metrics", b"");
    let text = String::from_utf8(body).unwrap();
    for line in [
        "# TYPE pubcat_transport_connections gauge\n",
        "pubcat_transport_connections{transport=\"ws\"} 1\n",
        "pubcat_transport_connections{transport=\"sse\"} 1\n",
        "pubcat_transport_connections{transport=\"stomp\"} 0\n",
        "pubcat_connections 2\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    for s in subs {
        s.stop();
    }
}
