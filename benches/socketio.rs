//! Socket.IO receive rate: `pubcat sub` against the official socket.io-client
//! on node, both asking the real socket.io server (tests/peers/socketio) for
//! the same 100,000 small events (`flood` → `tick`({seq, text})), over
//! websocket and over long-polling, in the same run. Prints figures;
//! asserts only correctness (every event arrived, the last one is the
//! last sent), never time.
//!
//! `bash tests/peers/socketio.sh start`, then `cargo bench --bench socketio`;
//! PUBCAT_BENCH_EVENTS and PUBCAT_BENCH_RUNS make it shorter or longer,
//! SOCKETIO_PORT moves it. pubcat prints every event to a pipe (`-o raw`);
//! the node client only counts them, the least a consumer can do.
//!
//! Each contender runs once for 1 event and once for all of them; the rate
//! is (N - 1) / (t_N - t_1), so process start-up and connecting (node
//! loading socket.io-client takes ~0.1 s) are not counted as receiving.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{env_or, median};

/// What one run printed and how long it took.
struct Run {
    secs: f64,
    ok: bool,
    detail: String,
}

fn time(mut cmd: Command, check: impl Fn(&[u8]) -> Result<(), String>) -> Run {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn contender");
    let mut out = Vec::with_capacity(8 << 20);
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read stdout");
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    let status = child.wait().expect("wait");
    let secs = started.elapsed().as_secs_f64();
    let checked = if status.success() {
        check(&out)
    } else {
        Err(format!("exit {status}: {}", err.trim()))
    };
    Run {
        secs,
        ok: checked.is_ok(),
        detail: checked.err().unwrap_or_default(),
    }
}

fn main() {
    let n = env_or("PUBCAT_BENCH_EVENTS", 100_000);
    let runs = env_or("PUBCAT_BENCH_RUNS", 3);
    let port = env_or("SOCKETIO_PORT", 18087);
    let addr = format!("127.0.0.1:{port}");
    let app = app_dir();
    if std::net::TcpStream::connect_timeout(&addr.parse().expect("addr"), Duration::from_secs(2))
        .is_err()
        || !app.join("bench.js").is_file()
    {
        eprintln!(
            "FAIL: no socket.io test server on {addr} (or no {}): start it with `bash tests/peers/socketio.sh start`",
            app.join("bench.js").display()
        );
        std::process::exit(1);
    }
    let pubcat = env!("CARGO_BIN_EXE_pubcat");

    let pubcat_cmd = |transport: &str, k: usize| {
        let mut c = Command::new(pubcat);
        c.args(["-q", "sub", &format!("socketio+http://{addr}/")])
            .args(["--transport", transport])
            .args(["--emit", "flood", &k.to_string(), "--event", "tick"])
            .args(["-n", &k.to_string(), "-o", "raw"]);
        c
    };
    let node_cmd = |transport: &str, k: usize| {
        let mut c = Command::new("node");
        c.arg("bench.js")
            .arg(format!("http://{addr}/"))
            .arg(k.to_string())
            .arg(transport)
            .current_dir(&app);
        c
    };
    // pubcat prints one line per event; the last is the last seq.
    let pubcat_check = |k: usize| {
        move |out: &[u8]| {
            let lines = memchr::memchr_iter(b'\n', out).count();
            let want_last = format!("{{\"seq\":{k},\"text\":\"hello world\"}}\n");
            if lines == k && out.ends_with(want_last.as_bytes()) {
                Ok(())
            } else {
                Err(format!("{lines} lines of {k}"))
            }
        }
    };
    let node_check = |k: usize| {
        move |out: &[u8]| {
            let want = format!("received {k} last {k}\n");
            if out == want.as_bytes() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(out).trim().to_string())
            }
        }
    };

    let mut failed = false;
    let mut table = Vec::new();
    for (name, pubcat_t, node_t) in [
        ("websocket", "ws", "websocket"),
        ("polling", "poll", "polling"),
    ] {
        // A first, untimed run lets the server encode the flood once (it
        // keeps it) and warm its JIT, so neither contender pays for that.
        let warm = time(pubcat_cmd(pubcat_t, n), pubcat_check(n));
        if !warm.ok {
            eprintln!("FAIL: warm-up over {name}: {}", warm.detail);
            failed = true;
        }
        // [contender][0 = one event, 1 = n events] -> seconds per run
        let mut secs = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
        for run in 0..runs {
            let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for who in order {
                for (slot, k) in [(0, 1), (1, n)] {
                    let r = if who == 0 {
                        time(pubcat_cmd(pubcat_t, k), pubcat_check(k))
                    } else {
                        time(node_cmd(node_t, k), node_check(k))
                    };
                    if !r.ok {
                        let who = ["pubcat", "socket.io-client"][who];
                        eprintln!("FAIL: {who} over {name}, {k} event(s): {}", r.detail);
                        failed = true;
                    }
                    secs[who][slot].push(r.secs);
                }
            }
        }
        let rate = |who: usize| {
            let (one, all) = (median(&secs[who][0]), median(&secs[who][1]));
            ((n - 1) as f64 / (all - one).max(1e-6), one, all)
        };
        table.push((name, rate(0), rate(1)));
    }

    println!(
        "{:<24} {:>16} {:>18} {:>7}  {:<7}",
        "workload", "pubcat", "socket.io-client", "ratio", "target"
    );
    for (name, (p, _, _), (s, _, _)) in &table {
        let target = (*name == "websocket").then_some(2.0);
        println!(
            "{:<24} {:>16} {:>18} {:>7.2}  {:<7} {}",
            format!("{name} {n} events"),
            format!("{:.0} k ev/s", p / 1e3),
            format!("{:.0} k ev/s", s / 1e3),
            p / s,
            target.map_or("-".to_string(), |t| format!(">= {t:.1}")),
            match target {
                Some(t) if p / s >= t => "ok",
                Some(_) => "MISS",
                None => "",
            }
        );
    }
    println!("wall time, 1 event / all (connect included):");
    for (name, (_, p1, pn), (_, s1, sn)) in &table {
        println!(
            "  {name:<10} pubcat {:.3} s / {:.3} s   socket.io-client {:.3} s / {:.3} s",
            p1, pn, s1, sn
        );
    }
    println!(
        "(medians of {runs} alternating runs; rate = (N-1) / (t_N - t_1); pubcat prints each event, socket.io-client counts them)"
    );
    if failed {
        eprintln!("FAIL: a run lost events or failed; see above");
        std::process::exit(1);
    }
}

/// Where tests/peers/socketio.sh installed bench.js and socket.io-client.
fn app_dir() -> PathBuf {
    std::env::var_os("PEERS_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("pubsub-peers"))
        .join("socketio")
        .join("app")
}
