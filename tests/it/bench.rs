//! `pubcat bench`: the real binary against the embedded broker, `pubcat
//! serve`, and a relay that drops messages on purpose, checking the report's
//! numbers against each other and the exit codes.

use std::net::SocketAddr;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common::{Broker, assert_code, closed_port, pubcat};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

fn bench(args: &[&str]) -> Output {
    pubcat()
        .arg("bench")
        .args(args)
        .output()
        .expect("run pubcat bench")
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bench --json printed no JSON ({e}): stdout {:?}, stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `pubcat bench ARGS` (with `--json`): asserts it exits 0 and its report
/// is consistent for `subs` subscribers ([`assert_consistent`]); the report.
fn consistent_run(args: &[&str], subs: f64) -> Value {
    let out = bench(args);
    assert_code(&out, 0);
    let r = report(&out);
    assert_consistent(&r, subs);
    r
}

fn n(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_f64()
        .unwrap_or_else(|| panic!("report has no number at `{path}`: {v}"))
}

/// Every field the README documents is there, and the numbers agree.
fn assert_consistent(r: &Value, subs: f64) {
    for field in [
        "sent",
        "received",
        "expected",
        "lost",
        "duplicated",
        "reordered",
        "errors",
        "throughput.msgs_per_s",
        "throughput.bytes_per_s",
        "latency_us.min",
        "latency_us.p50",
        "latency_us.p90",
        "latency_us.p99",
        "latency_us.p999",
        "latency_us.max",
        "connect_us.p50",
        "connect_us.p99",
        "throughput.delivered",
        "throughput.published",
        "window.start_unix_ms",
        "window.end_unix_ms",
    ] {
        n(r, field);
    }
    // What `bench merge` needs: the histograms, and the measured counts
    // the rates are made of.
    for hdr in ["latency_us.hdr", "connect_us.hdr"] {
        let (what, field) = hdr.split_once('.').unwrap();
        assert!(
            r[what][field].as_str().is_some_and(|s| !s.is_empty()),
            "no {hdr}: {r}"
        );
    }
    // Per publisher's stream, what the counts are made of.
    let each = r["streams"].as_array().expect("streams");
    assert_eq!(each.len() as f64, n(r, "config.pubs"), "{r}");
    for field in ["sent", "received", "duplicated", "reordered"] {
        let total: f64 = each.iter().map(|p| n(p, field)).sum();
        assert_eq!(total, n(r, field), "{field}: {r}");
    }
    let unique: f64 = each.iter().map(|p| n(p, "unique")).sum();
    assert_eq!(unique, n(r, "expected") - n(r, "lost"), "{r}");
    let window_s = (n(r, "window.end_unix_ms") - n(r, "window.start_unix_ms")) / 1e3;
    assert!((window_s - n(r, "measured_s")).abs() < 0.01, "{r}");
    let rate = n(r, "throughput.delivered") / n(r, "measured_s");
    assert!((rate - n(r, "throughput.msgs_per_s")).abs() < 1.0, "{r}");
    assert!(r["config"].is_object(), "no config: {r}");
    assert!(n(r, "sent") > 0.0, "{r}");
    assert_eq!(n(r, "expected"), n(r, "sent") * subs, "{r}");
    assert_eq!(n(r, "received"), n(r, "expected"), "{r}");
    assert_eq!(n(r, "lost"), 0.0, "{r}");
    assert_eq!(n(r, "duplicated"), 0.0, "{r}");
    let l: Vec<f64> = ["min", "p50", "p90", "p99", "p999", "max"]
        .iter()
        .map(|k| n(r, &format!("latency_us.{k}")))
        .collect();
    assert!(
        l.windows(2).all(|w| w[0] <= w[1]),
        "percentiles out of order: {l:?}"
    );
    // The minimum may round to 0 µs: a subscriber reads its clock once per
    // 64 messages, so a message published just before it read is one
    // nanosecond late. The rest measured something.
    assert!(l[0] >= 0.0 && l[5] > 0.0, "no latency measured: {l:?}");
    assert!(n(r, "throughput.msgs_per_s") > 0.0, "{r}");
    assert!(n(r, "connect_us.p50") > 0.0, "{r}");
}

#[test]
fn embedded_broker_run_delivers_everything_and_reports_consistent_numbers() {
    let r = consistent_run(
        &[
            "--json",
            "--subs",
            "3",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
        ],
        3.0,
    );
    assert_eq!(r["embedded"], true);
    assert_eq!(r["config"]["subs"], 3);
    assert_eq!(
        r["throughput"]["per_subscriber"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn a_paced_count_run_sends_exactly_the_count_on_schedule() {
    let r = consistent_run(
        &[
            "--json", "--pubs", "2", "--subs", "2", "-n", "3000", "--rate", "6000", "--warmup",
            "0s",
        ],
        2.0,
    );
    assert_eq!(n(&r, "sent"), 3000.0, "{r}");
    // Paced at 6,000/s, publishing 3,000 took about half a second.
    let published = n(&r, "throughput.published_msgs_per_s");
    assert!(published < 9000.0, "unpaced? {published} msgs/s");
}

#[test]
fn the_table_goes_to_stdout_and_nothing_else_does() {
    let out = bench(&["-q", "--duration", "300ms", "--warmup", "0s", "--subs", "1"]);
    assert_code(&out, 0);
    let table = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "published",
        "delivered",
        "expected",
        "lost 0",
        "p99.9",
        "connect",
    ] {
        assert!(table.contains(needle), "no `{needle}` in:\n{table}");
    }
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sse_and_long_poll_subscribers_of_a_pubcat_serve() {
    let broker = Broker::start();
    for transport in ["sse", "poll"] {
        let r = consistent_run(
            &[
                &format!("http://{}/load-{transport}", broker.addr),
                "--json",
                "--transport",
                transport,
                "--subs",
                "2",
                "--rate",
                "5000",
                "--duration",
                "500ms",
                "--warmup",
                "0s",
            ],
            2.0,
        );
        assert_eq!(r["config"]["transport"], format!("http -> {transport}"));
    }
}

#[test]
fn idle_connections_are_opened_held_and_measured() {
    let broker = Broker::start();
    let r = consistent_run(
        &[
            &broker.url("scale"),
            "--json",
            "--connections",
            "300",
            "--subs",
            "1",
            "--duration",
            "300ms",
            "--warmup",
            "0s",
        ],
        1.0,
    );
    assert_eq!(r["idle_connections"]["opened"], 300, "{r}");
    assert_eq!(r["idle_connections"]["closed"], 0, "{r}");
    assert!(n(&r, "idle_connections.connect_per_s") > 0.0);
    assert!(n(&r, "idle_connections.rss_bytes_per_connection") > 0.0);
    // 300 idle + 1 publisher + 1 subscriber.
    assert_eq!(n(&r, "connect_us.count"), 302.0, "{r}");
}

/// A proxy in front of `pubcat serve` that takes the first `idle`
/// connections (bench opens its idle connections first) one after the
/// other on its accepting thread: it passes the handshake through, then
/// `play`s connection i (from 1) and passes it through for the rest of the
/// run if that answers true. Later connections (the subscribers and
/// publishers) are accepted only once every play is over.
fn idle_proxy(
    broker: &Broker,
    idle: usize,
    play: impl Fn(usize, &mut std::net::TcpStream) -> bool + Send + 'static,
) -> SocketAddr {
    use std::io::{Read, Write};
    let mut accepted = 0;
    crate::common::proxy(broker.addr, move |mut client, server| {
        accepted += 1;
        if accepted <= idle {
            client
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            for (mut from, mut to) in [(&client, &server), (&server, &client)] {
                let mut head = Vec::new();
                let mut byte = [0u8];
                while !head.ends_with(b"\r\n\r\n") && from.read_exact(&mut byte).is_ok() {
                    head.push(byte[0]);
                }
                to.write_all(&head).unwrap();
            }
            if !play(accepted, &mut client) {
                return;
            }
        }
        crate::common::pipe_both(&client, &server);
    })
}

/// A 200 ms `bench --json` of `url` with `extra` flags that exits 0: its
/// report and stderr.
fn short_run(url: &str, extra: &[&str]) -> (Value, String) {
    let run = [url, "--json", "--duration", "200ms", "--warmup", "0s"];
    let out = bench(&[&run[..], extra].concat());
    let stderr = assert_code(&out, 0);
    (report(&out), stderr)
}

/// A client's frame with at most 125 bytes of payload, unmasked: (the
/// first byte, the payload); None when the client sent none.
fn client_frame(client: &mut std::net::TcpStream) -> Option<(u8, Vec<u8>)> {
    use std::io::Read;
    let mut head = [0u8; 6];
    client.read_exact(&mut head).ok()?;
    let mut payload = vec![0u8; usize::from(head[1] & 0x7f)];
    client.read_exact(&mut payload).ok()?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= head[2 + i % 4];
    }
    Some((head[0], payload))
}

/// Over TLS too, idle connections are held as bare streams: through the
/// transport's connect (`--ca` trusted), on one TLS configuration.
#[test]
fn idle_connections_over_tls_are_opened_and_held() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let broker = Broker::start_with(&["-v", "--tls-self-signed", "--tls-ca-out", ca]);
    broker.wait_for_log(&format!("--ca {ca}"));
    let url = format!("wss://127.0.0.1:{}/held", broker.addr.port());
    let (r, stderr) = short_run(&url, &["--ca", ca, "--connections", "20"]);
    assert_eq!(r["idle_connections"]["opened"], 20, "{r}\n{stderr}");
    assert_eq!(r["idle_connections"]["closed"], 0, "{r}\n{stderr}");
}

/// Idle connections are read while they are held: a server's ping is
/// answered, and a server's close is answered and counted. The proxy pings
/// both idle connections and closes the first with 1001; the second is
/// passed through for the rest of the run. The close was counted (bench
/// counts before it answers) before the run began.
#[test]
fn idle_connections_answer_pings_and_a_close_by_the_server_is_counted() {
    use std::io::Write;
    let broker = Broker::start();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let frames = seen.clone();
    let proxy = idle_proxy(&broker, 2, move |i, client| {
        client.write_all(&[0x89, 2, b'h', b'i']).unwrap();
        frames.lock().unwrap().push(client_frame(client));
        if i == 1 {
            client.write_all(&[0x88, 2, 0x03, 0xE9]).unwrap();
            frames.lock().unwrap().push(client_frame(client));
        }
        i > 1
    });
    let (r, stderr) = short_run(&format!("ws://{proxy}/held"), &["--connections", "2"]);
    let pong = Some((0x8A, b"hi".to_vec()));
    let close = Some((0x88, vec![0x03, 0xE9]));
    assert_eq!(*seen.lock().unwrap(), [pong.clone(), close, pong]);
    assert_eq!(r["idle_connections"]["opened"], 2, "{r}");
    assert_eq!(r["idle_connections"]["closed"], 1, "{r}");
    assert!(
        stderr.contains(
            "the server closed 1 of 2 idle connections during the run; the first: close 1001"
        ),
        "{stderr}"
    );
}

/// Idle connections keep alive as sessions do: a ping every
/// --ping-interval, and a server that answers nothing is given up and
/// counted. The proxy reads the idle connection's ping, never answers,
/// and waits for it to end before the run goes on.
#[test]
fn an_idle_connection_pings_and_a_server_that_never_answers_is_counted_dead() {
    use std::io::Read;
    let broker = Broker::start();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let frames = seen.clone();
    let proxy = idle_proxy(&broker, 1, move |_, client| {
        frames.lock().unwrap().push(client_frame(client));
        let ended = matches!(client.read(&mut [0u8; 64]), Ok(0));
        frames
            .lock()
            .unwrap()
            .push(ended.then_some((0, Vec::new())));
        false
    });
    let url = format!("ws://{proxy}/dead");
    // Long enough that the publisher and subscriber, which keep alive at
    // the same interval, are done before a slow answer could matter; they
    // wait for the proxy to be done with the idle connection meanwhile.
    let flags = [
        "--connections",
        "1",
        "--ping-interval",
        "3s",
        "--connect-timeout",
        "60s",
    ];
    let (r, stderr) = short_run(&url, &flags);
    let ping = Some((0x89, b"pubcat".to_vec()));
    assert_eq!(*seen.lock().unwrap(), [ping, Some((0, Vec::new()))]);
    assert_eq!(r["idle_connections"]["closed"], 1, "{r}");
    assert!(
        stderr.contains("no answer from the server for 3s: connection considered dead"),
        "{stderr}"
    );
}

/// Runs on a shared machine vary by tens of percent, so the baselines here
/// are ten times better or worse than the run: the verdict cannot flip.
#[test]
fn compare_fails_on_an_injected_regression_and_passes_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let run = ["--duration", "500ms", "--warmup", "0s"];
    let out = bench(&[&run[..], &["--json"]].concat());
    assert_code(&out, 0);
    let base = report(&out);
    let (rate, p99) = (
        n(&base, "throughput.msgs_per_s"),
        n(&base, "latency_us.p99"),
    );
    let write = |name: &str, rate: f64, p99: f64| {
        let mut b = base.clone();
        b["throughput"]["msgs_per_s"] = rate.into();
        b["latency_us"]["p99"] = p99.into();
        let path = dir.path().join(name);
        std::fs::write(&path, b.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };

    let easy = write("easy.json", rate / 10.0, p99 * 10.0);
    let passed = bench(&[&run[..], &["--compare", &easy]].concat());
    assert_code(&passed, 0);
    let table = String::from_utf8_lossy(&passed.stdout);
    assert!(
        table.contains("PASS p99 latency")
            && table.contains("PASS throughput")
            && !table.contains("REGRESSION"),
        "{table}"
    );

    for (name, rate, p99, what) in [
        ("faster.json", rate * 10.0, p99, "throughput"),
        ("snappier.json", rate / 10.0, p99 / 10.0, "p99 latency"),
    ] {
        let hard = write(name, rate, p99);
        let failed = bench(&[&run[..], &["--compare", &hard, "--max-regression", "50"]].concat());
        let err = assert_code(&failed, 5);
        let table = String::from_utf8_lossy(&failed.stdout);
        assert!(
            table
                .lines()
                .any(|l| l.contains(&format!("FAIL {what}")) && l.contains("REGRESSION")),
            "{table}"
        );
        assert!(
            err.contains("more than 50% worse than the baseline"),
            "{err}"
        );
    }

    // Not a report at all: a usage error before anything runs.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{").unwrap();
    assert_code(&bench(&["--compare", junk.to_str().unwrap()]), 2);
}

/// A WebSocket relay that forwards every frame to every other connection,
/// except that it drops every `nth` bench message (probes pass).
fn lossy_relay(nth: u64) -> (SocketAddr, Arc<AtomicU64>) {
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (tx, _) = broadcast::channel::<(u64, Message)>(1 << 16);
            let seen = Arc::new(AtomicU64::new(0));
            for conn in 0u64.. {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (tx, seen, dropped) = (tx.clone(), Arc::clone(&seen), Arc::clone(&counter));
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let (mut sink, mut stream) = ws.split();
                    let mut rx = tx.subscribe();
                    let forward = tokio::spawn(async move {
                        while let Ok((from, m)) = rx.recv().await {
                            if from != conn && sink.send(m).await.is_err() {
                                return;
                            }
                        }
                    });
                    while let Some(Ok(m)) = stream.next().await {
                        let bench_message =
                            matches!(&m, Message::Text(t) if t.as_bytes().get(3) == Some(&b'm'));
                        if bench_message && seen.fetch_add(1, Ordering::Relaxed) % nth == nth - 1 {
                            dropped.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        if m.is_text() || m.is_binary() {
                            let _ = tx.send((conn, m));
                        }
                    }
                    forward.abort();
                });
            }
        });
    });
    (addr, dropped)
}

#[test]
fn a_server_that_drops_messages_is_reported_as_loss_with_exit_5() {
    let (addr, dropped) = lossy_relay(100);
    let out = bench(&[
        &format!("ws://{addr}/lossy"),
        "--json",
        "--subs",
        "2",
        "-n",
        "2000",
        "--rate",
        "10000",
        "--warmup",
        "0s",
        "--drain",
        "1s",
    ]);
    assert_code(&out, 5);
    let r = report(&out);
    let dropped = dropped.load(Ordering::Relaxed) as f64;
    assert_eq!(dropped, 20.0, "the relay dropped one in a hundred of 2,000");
    // Each dropped message is missing at both subscribers.
    assert_eq!(n(&r, "lost"), dropped * 2.0, "{r}");
    assert_eq!(n(&r, "received"), n(&r, "expected") - dropped * 2.0, "{r}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("40 of 4,000 expected deliveries were lost"),
        "{err}"
    );
}

#[test]
fn bad_flags_and_refused_servers_fail_with_their_codes() {
    let out = bench(&["--size", "10"]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--size 10 is too small"));
    assert_code(&bench(&["--rate", "-5"]), 2);
    assert_code(&bench(&["--pubs", "0"]), 2);
    let refused = bench(&[&format!("ws://127.0.0.1:{}/x", closed_port())]);
    assert_code(&refused, 3);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("could not connect") && err.contains("refused"),
        "{err}"
    );
}

/// Several publishers on one topic of `pubcat serve`: each connection also
/// receives the others' messages, and the broker holds back a publisher
/// whose own queue is full. A client that only wrote while blocked would
/// never read that queue empty; pubcat reads while it waits to write.
#[test]
fn several_unpaced_publishers_on_one_topic_lose_nothing() {
    let r = consistent_run(
        &[
            "--json",
            "--pubs",
            "3",
            "--subs",
            "2",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
        ],
        2.0,
    );
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(
        r["throughput"]["per_publisher"].as_array().unwrap().len(),
        3
    );
}

/// `bench merge`: the reports' histograms are added (the merged p99 is the
/// p99 of their sum, not an average), counts summed; a report of another
/// configuration is refused (exit 2, naming the field) unless --force; a
/// report without histograms is refused.
#[test]
fn merge_adds_the_histograms_and_sums_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, args: &[&str]| {
        let mut all = vec!["--duration", "1s", "--rate", "5000", "--json"];
        all.extend(args);
        let out = bench(&all);
        assert_code(&out, 0);
        let path = dir.path().join(name);
        std::fs::write(&path, &out.stdout).unwrap();
        (path.to_str().unwrap().to_string(), report(&out))
    };
    let (a, ra) = save("a.json", &["--subs", "2"]);
    let (b, rb) = save("b.json", &["--subs", "2"]);
    let out = pubcat()
        .args(["bench", "merge", &a, &b, "--json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        merged["streams"].as_array().unwrap().len(),
        ra["streams"].as_array().unwrap().len() + rb["streams"].as_array().unwrap().len()
    );
    for field in ["sent", "received", "expected", "lost"] {
        assert_eq!(
            merged[field],
            n(&ra, field) as u64 + n(&rb, field) as u64,
            "{field}"
        );
    }
    let mut sum = latency_histogram(&ra);
    sum.add(latency_histogram(&rb)).unwrap();
    assert_eq!(merged["latency_us"]["count"], sum.len());
    assert_eq!(
        n(&merged, "latency_us.p99"),
        sum.value_at_quantile(0.99) as f64 / 1e3
    );
    assert_eq!(n(&merged, "latency_us.max"), sum.max() as f64 / 1e3);
    // Rates over the union of the two windows (one after the other here).
    let union = (n(&rb, "window.end_unix_ms") - n(&ra, "window.start_unix_ms")) / 1e3;
    let delivered = n(&ra, "throughput.delivered") + n(&rb, "throughput.delivered");
    assert!((n(&merged, "throughput.msgs_per_s") - delivered / union).abs() < 1.0);

    let (c, _) = save("c.json", &["--subs", "3"]);
    let out = pubcat().args(["bench", "merge", &a, &c]).output().unwrap();
    let stderr = assert_code(&out, 2);
    assert!(
        stderr.contains("config.subs") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_code(
        &pubcat()
            .args(["bench", "merge", &a, &c, "--force"])
            .output()
            .unwrap(),
        0,
    );

    let mut old = ra.clone();
    old["latency_us"].as_object_mut().unwrap().remove("hdr");
    let path = dir.path().join("old.json");
    std::fs::write(&path, old.to_string()).unwrap();
    let out = pubcat()
        .args(["bench", "merge", &a, path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("no latency_us histogram"), "{stderr}");
}

/// A report's `latency_us.hdr`, decoded.
fn latency_histogram(r: &Value) -> hdrhistogram::Histogram<u64> {
    use base64::Engine;
    use hdrhistogram::serialization::Deserializer;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r["latency_us"]["hdr"].as_str().expect("latency_us.hdr"))
        .unwrap();
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

/// The same bench on one machine, then as 3 shards: 3 processes with one
/// `--start-at`, their reports merged. The counts are those of the whole
/// run exactly; the merged histogram is the sum of the shards' (count,
/// min, max and every percentile equal to those of one histogram fed them
/// all); each shard ran its own third.
fn shards_add_up_to_the_whole_run(url: &str, extra: &[&str], subs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let subs_arg = subs.to_string();
    let mut run = vec![
        url,
        "--pubs",
        "3",
        "--subs",
        &subs_arg,
        "--connections",
        "3",
        "-n",
        "3000",
        "--rate",
        "3000",
        "--warmup",
        "0s",
        "--drain",
        "2s",
        "--json",
    ];
    run.extend(extra);
    let whole = consistent_or_queue(&bench(&run), subs);

    let (reports, paths, merged) = run_shards(&run, 3, &["--cross-host-latency"], dir.path());
    for (i, r) in reports.iter().enumerate() {
        assert_eq!(
            (n(r, "shard.pubs"), n(r, "shard.subs")),
            (1.0, subs as f64 / 3.0),
            "{r}"
        );
        // Each ran its own publisher: its stream's sent is there, the others' not.
        for s in r["streams"].as_array().unwrap() {
            assert_eq!(s["sent"].is_u64(), s["publisher"] == i, "{r}");
        }
    }

    for field in ["sent", "received", "expected", "lost", "duplicated"] {
        assert_eq!(merged[field], whole[field], "{field}: {merged}");
    }
    assert_eq!(n(&merged, "lost"), 0.0, "{merged}");
    let sum = |path: &str| reports.iter().map(|r| n(r, path)).sum::<f64>();
    for field in [
        "sent",
        "received",
        "throughput.delivered",
        "throughput.published",
    ] {
        assert_eq!(n(&merged, field), sum(field), "{field}");
    }
    assert_eq!(
        n(&merged, "throughput.delivered"),
        n(&whole, "throughput.delivered")
    );
    let mut all = latency_histogram(&reports[0]);
    for r in &reports[1..] {
        all.add(latency_histogram(r)).unwrap();
    }
    assert_eq!(n(&merged, "latency_us.count"), sum("latency_us.count"));
    assert_eq!(n(&merged, "latency_us.count"), all.len() as f64);
    assert_eq!(latency_histogram(&merged).len(), all.len());
    let extreme = |k: &str, f: fn(f64, f64) -> f64| {
        reports
            .iter()
            .map(|r| n(r, &format!("latency_us.{k}")))
            .reduce(f)
            .unwrap()
    };
    assert_eq!(n(&merged, "latency_us.min"), extreme("min", f64::min));
    assert_eq!(n(&merged, "latency_us.max"), extreme("max", f64::max));
    for (k, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        assert_eq!(
            n(&merged, &format!("latency_us.{k}")),
            all.value_at_quantile(q) as f64 / 1e3,
            "{k}"
        );
    }
    let shards = merged["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    assert!(shards.iter().all(|s| s["window"]["start_unix_ms"].is_f64()));

    // Two of the three are not the run: refused, naming the missing one.
    let out = pubcat()
        .args(["bench", "merge"])
        .args(&paths[..2])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("shard 2/3 is missing"), "{stderr}");
}

/// `pubcat bench RUN` as `n` shards (processes started together with one
/// `--start-at` 4 s ahead, and `extra`), each exiting 0 with its report
/// saved in `dir`: the reports, their paths, and `bench merge` of them.
fn run_shards(
    run: &[&str],
    n: usize,
    extra: &[&str],
    dir: &std::path::Path,
) -> (Vec<Value>, Vec<String>, Value) {
    let at = chrono::Utc::now() + chrono::Duration::seconds(4);
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let shards: Vec<std::process::Child> = (0..n)
        .map(|i| {
            pubcat()
                .arg("bench")
                .args(run)
                .args(["--shard", &format!("{i}/{n}"), "--start-at", &at])
                .args(extra)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut paths = Vec::new();
    let mut reports = Vec::new();
    for (i, child) in shards.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert_code(&out, 0);
        let r = report(&out);
        assert_eq!(r["shard"]["index"], i, "{r}");
        let path = dir.join(format!("shard{i}.json"));
        std::fs::write(&path, &out.stdout).unwrap();
        paths.push(path.to_str().unwrap().to_string());
        reports.push(r);
    }
    let out = pubcat()
        .args(["bench", "merge", "--json"])
        .args(&paths)
        .output()
        .unwrap();
    assert_code(&out, 0);
    let merged = report(&out);
    (reports, paths, merged)
}

/// Shards that have no publishers, or no subscribers, of their own: the
/// one without subscribers still reports what its publishers sent (and
/// its empty histogram merges), the one without publishers listens until
/// the window is over even through a silent warm-up longer than --drain,
/// and the merge counts every delivery.
#[test]
fn shards_without_publishers_or_subscribers_of_their_own_add_up() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    // Shard 0: publisher 0, no subscriber; shard 1: publisher 1, the subscriber.
    let url = broker.url("lopsided");
    let run = [
        url.as_str(),
        "--pubs",
        "2",
        "--subs",
        "1",
        "--rate",
        "400",
        "--duration",
        "1s",
        "--warmup",
        "1s",
        "--drain",
        "1s",
        "--json",
    ];
    let (reports, _, merged) = run_shards(&run, 2, &[], dir.path());
    // 200 msgs/s each, through 1 s of warm-up and 1 s measured.
    assert_eq!(n(&reports[0], "sent"), 400.0, "{}", reports[0]);
    assert_eq!(n(&reports[0], "latency_us.count"), 0.0);
    assert_eq!(
        (
            n(&merged, "sent"),
            n(&merged, "expected"),
            n(&merged, "lost")
        ),
        (800.0, 800.0, 0.0),
        "{merged}"
    );
    // Shard 0: the subscriber, no publisher; nothing is sent in a warm-up
    // from 0 msgs/s, 2 s of silence, twice --drain.
    let url = broker.url("silent-start");
    let run = [
        url.as_str(),
        "--pubs",
        "1",
        "--subs",
        "2",
        "--rate",
        "0..400",
        "--ramp",
        "2s",
        "--warmup",
        "2s",
        "--drain",
        "1s",
        "--json",
    ];
    let (reports, _, merged) = run_shards(&run, 2, &["--cross-host-latency"], dir.path());
    assert_eq!(n(&reports[0], "shard.pubs"), 0.0);
    assert_eq!(n(&reports[0], "received"), 400.0, "{}", reports[0]);
    assert_eq!(
        (
            n(&merged, "sent"),
            n(&merged, "expected"),
            n(&merged, "lost")
        ),
        (400.0, 800.0, 0.0),
        "{merged}"
    );
    // A shard's ramp leaves the knee to the merge, whose steps hold every
    // shard's deliveries.
    assert!(reports[0]["ramp"]["knee_msgs_per_s"].is_null());
    let steps = merged["ramp"]["steps"].as_array().unwrap();
    let delivered: f64 = steps.iter().map(|s| n(s, "delivered")).sum();
    assert_eq!((steps.len(), delivered), (10, 800.0), "{merged}");
}

/// A fan-out run's report is consistent; a queue's delivers each message
/// once in all.
fn consistent_or_queue(out: &Output, subs: u64) -> Value {
    assert_code(out, 0);
    let r = report(out);
    if r["config"]["delivery"] == "queue" {
        assert_eq!(
            (n(&r, "expected"), n(&r, "lost")),
            (n(&r, "sent"), 0.0),
            "{r}"
        );
        assert_eq!(n(&r, "received"), n(&r, "sent"), "{r}");
    } else {
        assert_consistent(&r, subs as f64);
    }
    r
}

#[test]
fn three_shards_merge_into_the_run_one_machine_makes() {
    let broker = Broker::start();
    shards_add_up_to_the_whole_run(&broker.url("shards"), &[], 6);
}

/// A queue's consumers on different shards: each message once in all,
/// which the shards' bit sets tell.
#[test]
fn three_shards_of_a_queue_merge_into_the_run_one_machine_makes() {
    let broker = Broker::start();
    let url = broker.url("_/stomp");
    shards_add_up_to_the_whole_run(&url, &["--protocol", "stomp", "-t", "/queue/shards"], 3);
}

/// `--rate A..B --ramp D`: the publishers send the integral of the ramp
/// exactly (a warm-up at A, then A climbing to B over D), and the report
/// has a row per step whose deliveries add up to the measured window's,
/// at the rates asked for; a ramp's shards merge step by step.
#[test]
fn a_ramp_sends_its_integral_and_reports_each_step() {
    let broker = Broker::start();
    let url = broker.url("ramp");
    let run = [
        url.as_str(),
        "--rate",
        "1000..3000",
        "--ramp",
        "2s",
        "--ramp-steps",
        "4",
        "--warmup",
        "1s",
        "--subs",
        "2",
        "--pubs",
        "2",
        "--json",
    ];
    let r = consistent_run(&run, 2.0);
    // 1,000 in the warm-up, then (1,000 + 3,000) / 2 × 2 s.
    assert_eq!(n(&r, "sent"), 5000.0, "{r}");
    let steps = r["ramp"]["steps"].as_array().expect("ramp.steps");
    let rates: Vec<f64> = steps.iter().map(|s| n(s, "rate")).collect();
    assert_eq!(rates, [1250.0, 1750.0, 2250.0, 2750.0]);
    let delivered: f64 = steps.iter().map(|s| n(s, "delivered")).sum();
    assert_eq!(delivered, n(&r, "throughput.delivered"), "{r}");
    assert_eq!(delivered, 4000.0 * 2.0, "{r}");
    for s in steps {
        // Each step's messages, every subscriber's: its rate × 0.5 s × 2,
        // give or take the one message a publisher's step boundary splits.
        let asked = n(s, "rate") * 0.5 * 2.0;
        assert!((n(s, "delivered") - asked).abs() <= 4.0, "{s}");
        assert!(n(s, "latency_us.count") > 0.0, "{s}");
    }

    let out = bench(&["--rate", "100..200"]);
    assert!(assert_code(&out, 2).contains("--ramp DURATION"));
    let out = bench(&["--rate", "100", "--ramp", "2s"]);
    assert!(assert_code(&out, 2).contains("--rate A..B"));
}

/// `--hlog`: a histogram per second of the measured window, in the
/// HdrHistogram interval log format (read back with the hdrhistogram
/// crate's parser), together holding every latency the report counted; a
/// file that cannot be written is exit 2 before the run.
#[test]
fn hlog_writes_a_histogram_per_second() {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.hlog");
    let out = bench(&[
        "--duration",
        "3s",
        "--warmup",
        "1s",
        "--rate",
        "5000",
        "--subs",
        "2",
        "--json",
        "--hlog",
        path.to_str().unwrap(),
    ]);
    assert_code(&out, 0);
    let r = report(&out);
    let text = std::fs::read(&path).unwrap();
    let mut seconds = Vec::new();
    let mut total = 0;
    for entry in IntervalLogIterator::new(&text) {
        match entry.unwrap() {
            LogEntry::Interval(i) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(i.encoded_histogram())
                    .unwrap();
                let h: hdrhistogram::Histogram<u64> =
                    hdrhistogram::serialization::Deserializer::new()
                        .deserialize(&mut bytes.as_slice())
                        .unwrap();
                seconds.push(i.start_timestamp().as_secs());
                assert_eq!(i.duration().as_secs(), 1);
                total += h.len();
            }
            LogEntry::StartTime(t) | LogEntry::BaseTime(t) => {
                let start = n(&r, "window.start_unix_ms") / 1e3;
                assert!((t.as_secs_f64() - start).abs() < 0.01, "{t:?} for {start}");
            }
        }
    }
    assert!(
        seconds.len() >= 3 && seconds.len() <= 5,
        "{seconds:?}: {}",
        String::from_utf8_lossy(&text)
    );
    assert!(seconds.windows(2).all(|w| w[0] < w[1]), "{seconds:?}");
    assert_eq!(total as f64, n(&r, "latency_us.count"));

    let out = bench(&["--hlog", "/nonexistent-dir/run.hlog"]);
    assert!(assert_code(&out, 2).contains("cannot write --hlog"));
}

/// `--payload-file`: each message is the user's bytes with the header
/// appended; a JSON object stays JSON, with the header as its last member
/// (what another subscriber of the topic sees), and every message is
/// checked as before.
#[test]
fn a_payload_file_is_sent_with_the_header_appended() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("event.json");
    std::fs::write(&json, br#"{"event": "deploy", "ok": true}"#).unwrap();
    let watcher = crate::common::start_subscriber(&broker, "payload", {
        let mut c = pubcat();
        c.args(["sub", &broker.url("payload"), "--output", "raw", "-n", "3"]);
        c
    });
    let r = consistent_run(
        &[
            &broker.url("payload"),
            "--payload-file",
            json.to_str().unwrap(),
            "--duration",
            "1s",
            "--rate",
            "1000",
            "--subs",
            "2",
            "--json",
        ],
        2.0,
    );
    let seen = watcher.wait_with_output().unwrap();
    for line in String::from_utf8(seen.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(
            (&v["event"], &v["ok"]),
            (&Value::from("deploy"), &Value::from(true))
        );
        assert!(v["pubcat"].as_str().unwrap().starts_with("pcb"), "{v}");
    }
    let text = dir.path().join("text");
    std::fs::write(&text, b"hello").unwrap();
    // 31 bytes, less its `}`, then `,"pubcat":"`, the header and `"}`.
    assert_eq!(n(&r, "config.size"), 31.0 - 1.0 + 11.0 + 36.0 + 2.0, "{r}");
    let r = consistent_run(
        &[
            "--payload-file",
            text.to_str().unwrap(),
            "--duration",
            "1s",
            "--json",
        ],
        4.0,
    );
    assert_eq!(n(&r, "config.size"), 5.0 + 36.0, "{r}");
}

/// `--bind`: connections are spread over the local addresses in turn (the
/// broker sees them come from those addresses), over WebSocket and HTTP,
/// and the report counts each address's; an address this machine does not
/// have is exit 3 naming it.
#[test]
fn bind_spreads_connections_over_source_addresses() {
    let broker = Broker::start_with(&["-v"]);
    let r = consistent_run(
        &[
            &broker.url("bind"),
            "--bind",
            "127.0.0.2,127.0.0.3",
            "--connections",
            "20",
            "--subs",
            "2",
            "--duration",
            "1s",
            "--rate",
            "1000",
            "--json",
        ],
        2.0,
    );
    let counts: Vec<(String, f64)> = r["source_addresses"]
        .as_array()
        .expect("source_addresses")
        .iter()
        .map(|a| {
            (
                a["address"].as_str().unwrap().to_string(),
                n(a, "connections"),
            )
        })
        .collect();
    // 20 idle, 2 subscribers and a publisher, in turn.
    assert_eq!(
        counts,
        [
            ("127.0.0.2".to_string(), 12.0),
            ("127.0.0.3".to_string(), 11.0)
        ]
    );
    // The broker logs each connection's address.
    broker.wait_for_log("ws connect 127.0.0.2:");
    broker.wait_for_log("ws connect 127.0.0.3:");
    let sse = consistent_run(
        &[
            &broker.url("bind-sse").replace("ws://", "http://"),
            "--bind",
            "127.0.0.4/32",
            "--subs",
            "1",
            "--duration",
            "1s",
            "--rate",
            "500",
            "--json",
        ],
        1.0,
    );
    assert_eq!(n(&sse["source_addresses"][0], "connections"), 2.0, "{sse}");

    let out = bench(&[
        &broker.url("bind"),
        "--bind",
        "192.0.2.1",
        "--duration",
        "1s",
    ]);
    let stderr = assert_code(&out, 3);
    assert!(stderr.contains("cannot bind to 192.0.2.1"), "{stderr}");
}

/// `--shard`/`--shards`: bad values and a shard without a start are exit 2
/// before anything connects; a shard's report leaves loss to the merge.
#[test]
fn shard_flags_are_checked() {
    let broker = Broker::start();
    let url = broker.url("shard-flags");
    for (args, says) in [
        (&["--shard", "3/3"][..], "shards count from 0"),
        (&["--shard", "1"], "not I/N"),
        (&["--shard", "0/3"], "needs --start-at"),
        (
            &["--shard", "0/3", "--start-in", "5s", "--gate", "lost==0"],
            "gate on `pubcat bench merge`",
        ),
        (&["--shards", "3"], "JOB_COMPLETION_INDEX"),
    ] {
        let out = pubcat()
            .args(["bench", &url])
            .args(args)
            .env_remove("JOB_COMPLETION_INDEX")
            .output()
            .unwrap();
        let stderr = assert_code(&out, 2);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = bench(&["--shard", "0/2", "--start-in", "5s"]);
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("needs the URL"), "{stderr}");
    // JOB_COMPLETION_INDEX picks the shard, as a Kubernetes Indexed Job sets it.
    let out = pubcat()
        .args([
            "bench",
            &url,
            "--shards",
            "2",
            "--start-in",
            "2s",
            "--warmup",
            "0s",
            "--subs",
            "2",
            "--pubs",
            "2",
        ])
        .args(["--duration", "1s", "--rate", "1000", "--json"])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let r = report(&out);
    assert_eq!(
        (n(&r, "shard.index"), n(&r, "shard.count")),
        (1.0, 2.0),
        "{r}"
    );
    assert_eq!((n(&r, "expected"), n(&r, "lost")), (0.0, 0.0), "{r}");
}

/// `--gate`: each gate's verdict on stderr, a failing one exit 5 naming it;
/// a gate that cannot be read is exit 2 before anything runs.
#[test]
fn gates_pass_or_fail_the_run_by_name() {
    let run = ["--duration", "1s", "--rate", "2000", "--subs", "1"];
    let out = bench(&[&run[..], &["--gate", "lost==0", "--gate", "p99<60s"]].concat());
    let stderr = assert_code(&out, 0);
    assert!(
        stderr.contains("gate lost==0: PASS (lost is 0)"),
        "{stderr}"
    );
    assert!(stderr.contains("gate p99<60s: PASS (p99 is "), "{stderr}");
    let out = bench(
        &[
            &run[..],
            &["--gate", "lost==0", "--gate", "sent>1000000000"],
        ]
        .concat(),
    );
    let stderr = assert_code(&out, 5);
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("pubcat: error: gate sent>1000000000 failed: sent is "),
        "{stderr}"
    );
    let out = bench(&["--gate", "p99<5"]);
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("not a time with its unit"), "{stderr}");
}

/// `--start-in` and `--start-at`: the measured window starts at the asked
/// instant (on this machine's clock, as the report records it); a start
/// whose warm-up would have had to begin already, and a time already
/// past, are exit 2 before anything connects.
#[test]
fn the_measured_window_starts_when_asked() {
    let asked = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1e3
        + 3000.0;
    let out = bench(&[
        "--start-in",
        "3s",
        "--duration",
        "1s",
        "--rate",
        "1000",
        "--json",
    ]);
    assert_code(&out, 0);
    let r = report(&out);
    let start = n(&r, "window.start_unix_ms");
    // Timers wake late, never early; 0.5 s is ample for late.
    assert!(
        start >= asked - 1.0 && start < asked + 500.0,
        "{start} for {asked}"
    );

    // A start so near that its warm-up would have begun: said at once.
    let out = bench(&["--start-in", "1s", "--warmup", "2s", "--duration", "1s"]);
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("shorten --warmup"), "{stderr}");
    let out = bench(&["--start-at", "2000-01-01T00:00:00Z"]);
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("that time has passed"), "{stderr}");
}
