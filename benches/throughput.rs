//! Throughput of `pubcat publish`/`subscribe` against a minimal
//! tokio-tungstenite client doing the same work, in the same run:
//! 1,000,000 64-byte messages piped in (publish) and out (subscribe) over
//! loopback, a one-shot `echo hi | pubcat pub`, and `pubcat bench`'s load
//! generator sending 1,000,000 messages to a sink against a minimal client
//! sending the same pre-built messages. Prints figures; asserts only
//! correctness (every message arrived), never time.
//!
//! `cargo bench --bench throughput`; PUBCAT_BENCH_MESSAGES and
//! PUBCAT_BENCH_RUNS make it shorter or longer.
//! PUBCAT_BENCH_BASELINE=/path/to/an/older/pubcat (an absolute path) adds a
//! contender, "baseline": that binary with the same command lines as
//! pubcat's, taking turns with the others, and columns for its figures and
//! pubcat/baseline, so a change is measured against the build before it in
//! the same run on the same machine.
//!
//! The minimal client is this same executable run with PUBCAT_BENCH_ROLE set,
//! so it reads stdin and writes stdout through pipes exactly as pubcat does.
//! PUBCAT_BENCH_ROLE=serve runs only the sink and source servers (their URLs
//! are printed), for profiling a client by hand.

mod common;

use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use common::{baseline, count_output, current_thread, env_or, median, rotated, stdin_chunks};

const SIZE: usize = 64;

/// Builds the command for a role ("pub", "sub", "gen") of one contender;
/// None where the contender has no such role.
type MakeCommand<'a> = Box<dyn Fn(&str) -> Option<Command> + 'a>;

fn main() {
    match std::env::var("PUBCAT_BENCH_ROLE").as_deref() {
        Ok("pub") => return minimal_pub(),
        Ok("sub") => return minimal_sub(),
        Ok("gen") => return minimal_gen(),
        // The servers alone, to profile a client against by hand.
        Ok("serve") => {
            let servers = Servers::start(env_or("PUBCAT_BENCH_MESSAGES", 1_000_000));
            println!("sink ws://{}/sink", servers.sink);
            println!("source ws://{}/source", servers.source);
            loop {
                std::thread::park();
            }
        }
        _ => {}
    }
    // `cargo bench` passes `--bench`; nothing else to parse.
    let n = env_or("PUBCAT_BENCH_MESSAGES", 1_000_000);
    let runs = env_or("PUBCAT_BENCH_RUNS", 3);
    let servers = Servers::start(n);
    let pubcat = env!("CARGO_BIN_EXE_pubcat");
    let me = std::env::current_exe().expect("current exe");
    let baseline = baseline();

    let dir = std::env::temp_dir().join(format!("pubcat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("input.txt");
    let mut f = BufWriter::new(std::fs::File::create(&input).expect("input file"));
    for i in 0..n {
        writeln!(f, "{:0>width$}", i, width = SIZE).expect("write input");
    }
    f.flush().expect("flush input");
    drop(f);
    let hi = dir.join("hi.txt");
    std::fs::write(&hi, "hi\n").expect("hi file");

    let sink = format!("ws://{}/sink", servers.sink);
    let source = format!("ws://{}/source", servers.source);
    let mut failed = false;

    let mut contenders: Vec<(&str, MakeCommand)> = vec![
        (
            "pubcat",
            Box::new(|role: &str| Some(pubcat_command(Path::new(pubcat), role, n))),
        ),
        (
            "minimal",
            Box::new(|role: &str| {
                let mut c = Command::new(&me);
                c.env("PUBCAT_BENCH_ROLE", role)
                    .env("PUBCAT_BENCH_N", n.to_string());
                Some(c)
            }),
        ),
    ];
    // Third, so the table's columns follow the contenders' order.
    if let Some(path) = baseline.clone() {
        contenders.push((
            "baseline",
            Box::new(move |role: &str| Some(pubcat_command(&path, role, n))),
        ));
    }
    // websocat pipes lines both ways; it has no load generator.
    if let Some(websocat) = which("websocat") {
        contenders.push((
            "websocat",
            Box::new(move |role: &str| {
                let mut c = Command::new(&websocat);
                match role {
                    "pub" => c.args(["-q", "-u"]),
                    "sub" => c.args(["-q", "-U"]),
                    _ => return None,
                };
                Some(c)
            }),
        ));
    }

    // Publish: stdin from the file, done when the sink has counted n.
    let mut publish: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let mut receive: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for run in 0..runs {
        for (i, name, mut command) in in_turn(&contenders, "pub", run) {
            command
                .arg(&sink)
                .stdin(std::fs::File::open(&input).expect("input"));
            let (status, counted, secs) = run_to_sink(&mut command, &servers);
            if !status.success() || counted != n {
                eprintln!("FAIL: {name} publish: exit {status}, sink counted {counted} of {n}");
                failed = true;
            }
            publish[i].push(n as f64 / secs);
        }
        // Subscribe: stdout into a pipe we read and check.
        for (i, name, mut command) in in_turn(&contenders, "sub", run) {
            let counted = count_output(command.arg(&source));
            if !counted.is_complete(n, SIZE + 1) {
                eprintln!("FAIL: {name} subscribe: {counted}");
                failed = true;
            }
            receive[i].push(n as f64 / counted.secs);
        }
    }
    // The load generator: no stdin, pre-built payloads, to the sink.
    let mut generate: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for run in 0..runs {
        for (i, name, mut command) in in_turn(&contenders, "gen", run) {
            command
                .arg(format!("ws://{}/gen", servers.sink))
                .stdin(Stdio::null());
            let (status, counted, secs) = run_to_sink(&mut command, &servers);
            if !status.success() || counted != n {
                eprintln!("FAIL: {name} generator: exit {status}, sink counted {counted} of {n}");
                failed = true;
            }
            generate[i].push(n as f64 / secs);
        }
    }
    let one_shot_runs = 20;
    let mut one_shot: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for run in 0..one_shot_runs {
        for (i, name, mut command) in in_turn(&contenders, "pub", run) {
            let started = Instant::now();
            let status = command
                .arg(format!("ws://{}/oneshot", servers.sink))
                .stdin(std::fs::File::open(&hi).expect("hi"))
                .status()
                .expect("spawn one-shot");
            one_shot[i].push(started.elapsed().as_secs_f64() * 1e3);
            let counted = servers
                .sink_counts
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or(0);
            if !status.success() || counted != 1 {
                eprintln!("FAIL: {name} one-shot: exit {status}, sink counted {counted}");
                failed = true;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |v: f64| format!("{:.2} M msg/s", v / 1e6);
    let ms = |v: f64| format!("{v:.1} ms");
    let shown = |v: &[f64], f: &dyn Fn(f64) -> String| {
        if v.is_empty() {
            "n/a".to_string()
        } else {
            f(median(v))
        }
    };
    let rows: [Row; 4] = [
        (format!("publish {SIZE}B x{n}"), &publish, &rate, ">= 0.80"),
        (
            format!("subscribe {SIZE}B x{n}"),
            &receive,
            &rate,
            ">= 0.80",
        ),
        (
            format!("bench generator {SIZE}B x{n}"),
            &generate,
            &rate,
            ">= 0.80",
        ),
        (
            "one-shot pub (median of 20)".into(),
            &one_shot,
            &ms,
            "< 2.00",
        ),
    ];
    // The baseline's columns appear only when it ran: without it the table
    // is as it was before there was one.
    // Its index: pushed third, above.
    let b = baseline.as_ref().map(|_| 2);
    let others_from = 2 + usize::from(b.is_some());
    let others: Vec<&str> = contenders
        .iter()
        .skip(others_from)
        .map(|(name, _)| *name)
        .collect();
    print!("{:<30} {:>15} {:>15}", "workload", "pubcat", "minimal");
    if b.is_some() {
        print!(" {:>15}", "baseline");
    }
    for name in &others {
        print!(" {name:>15}");
    }
    print!(" {:>7}", "ratio");
    if b.is_some() {
        print!(" {:>15}", "pubcat/baseline");
    }
    println!("  {:<8}", "target");
    for (workload, runs, unit, target) in rows {
        let (p, m) = (median(&runs[0]), median(&runs[1]));
        let ratio = p / m;
        let ok = if target.starts_with('<') {
            ratio < 2.0
        } else {
            ratio >= 0.8
        };
        print!("{workload:<30} {:>15} {:>15}", unit(p), unit(m));
        if let Some(b) = b {
            print!(" {:>15}", shown(&runs[b], unit));
        }
        for other in &runs[others_from..] {
            print!(" {:>15}", shown(other, unit));
        }
        print!(" {ratio:>7.2}");
        if let Some(b) = b {
            print!(" {:>15.2}", p / median(&runs[b]));
        }
        println!("  {target:<8} {}", if ok { "ok" } else { "MISS" });
    }
    println!(
        "(medians of {runs} interleaved runs; ratio = pubcat / minimal; minimal = tokio-tungstenite with TCP_NODELAY, feed/flush, BufWriter)"
    );
    if let Some(path) = &baseline {
        println!(
            "(pubcat/baseline: above 1 pubcat is faster in msg/s, below 1 in ms; baseline = {})",
            path.display()
        );
    }
    if others.is_empty() {
        println!("websocat not on PATH: not compared (cargo install websocat --version '^1')");
    }
    if failed {
        eprintln!("FAIL: a run lost messages or failed; see above");
        std::process::exit(1);
    }
}

/// `pubcat`'s command line for a role, run with `bin`: the current build and
/// the baseline run the very same lines.
fn pubcat_command(bin: &Path, role: &str, n: usize) -> Command {
    let mut c = Command::new(bin);
    c.arg("-q");
    match role {
        "pub" => c.arg("pub"),
        "gen" => c
            .args(["bench", "--subs", "0", "--warmup", "0s", "-n"])
            .arg(n.to_string()),
        _ => c.args(["sub", "-o", "raw", "-n"]).arg(n.to_string()),
    };
    c
}

/// The contenders that have `role` (index, name, command), in the order
/// run `run` takes them: they take turns going first, so none always gets
/// the warm cache. Those without the role are left out before rotating, so
/// they do not skew the turns of those with it.
fn in_turn<'a>(
    contenders: &[(&'a str, MakeCommand)],
    role: &str,
    run: usize,
) -> Vec<(usize, &'a str, Command)> {
    let with_role = contenders
        .iter()
        .enumerate()
        .filter_map(|(i, (name, make))| Some((i, *name, make(role)?)))
        .collect();
    rotated(with_role, run)
}

/// A line of the table: workload, each contender's runs, how a figure is
/// shown, the target for the ratio.
type Row<'a> = (String, &'a [Vec<f64>], &'a dyn Fn(f64) -> String, &'a str);

/// Run a contender that sends to the sink: its exit status, the messages
/// the sink counted on that connection, and the seconds until both ended.
fn run_to_sink(command: &mut Command, servers: &Servers) -> (ExitStatus, usize, f64) {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .status()
        .expect("spawn contender");
    let counted = servers
        .sink_counts
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or(0);
    (status, counted, started.elapsed().as_secs_f64())
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|f| f.is_file())
    })
}

/// The in-process servers: a sink that counts what each connection sent
/// and a source that sends n messages to each connection.
struct Servers {
    sink: SocketAddr,
    source: SocketAddr,
    sink_counts: mpsc::Receiver<usize>,
    _rt: tokio::runtime::Runtime,
}

impl Servers {
    fn start(n: usize) -> Servers {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = mpsc::channel();
        let (sink, source) = rt.block_on(async {
            let sink = listen().await;
            let source = listen().await;
            (sink, source)
        });
        let sink_addr = sink.local_addr().expect("addr");
        let source_addr = source.local_addr().expect("addr");
        rt.spawn(async move {
            while let Ok((tcp, _)) = sink.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let mut count = 0;
                    while let Some(Ok(m)) = ws.next().await {
                        if m.is_text() || m.is_binary() {
                            count += 1;
                        }
                    }
                    let _ = tx.send(count);
                });
            }
        });
        rt.spawn(async move {
            let body = Utf8Bytes::from("x".repeat(SIZE));
            while let Ok((tcp, _)) = source.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    for i in 0..n {
                        if ws.feed(Message::Text(body.clone())).await.is_err() {
                            return;
                        }
                        if i % 1024 == 1023 && ws.flush().await.is_err() {
                            return;
                        }
                    }
                    let _ = ws.close(None).await;
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
        Servers {
            sink: sink_addr,
            source: source_addr,
            sink_counts: rx,
            _rt: rt,
        }
    }
}

async fn listen() -> tokio::net::TcpListener {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    socket.listen(1024).expect("listen")
}

async fn minimal_connect(url: &str) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    tokio_tungstenite::client_async(url, tcp)
        .await
        .expect("handshake")
        .0
}

/// The baseline publisher: stdin lines as text messages, fed and flushed
/// when no more input is ready, then the close handshake.
fn minimal_pub() {
    let url = std::env::args().next_back().expect("url");
    current_thread().block_on(async {
        let mut ws = minimal_connect(&url).await;
        let mut rx = stdin_chunks();
        let mut rest = BytesMut::new();
        while let Some(chunk) = rx.recv().await {
            rest.extend_from_slice(&chunk);
            let data = rest.split().freeze();
            let mut start = 0;
            for nl in memchr::memchr_iter(b'\n', &data) {
                let text = Utf8Bytes::try_from(data.slice(start..nl)).expect("utf8");
                ws.feed(Message::Text(text)).await.expect("feed");
                start = nl + 1;
            }
            rest.extend_from_slice(&data[start..]);
            if rx.is_empty() {
                ws.flush().await.expect("flush");
            }
        }
        ws.close(None).await.expect("close");
        while let Some(Ok(_)) = ws.next().await {}
    });
}

/// The baseline generator: n pre-built 64-byte text messages, fed and
/// flushed 256 at a time, then the close handshake.
fn minimal_gen() {
    let url = std::env::args().next_back().expect("url");
    let n = env_or("PUBCAT_BENCH_N", 1_000_000);
    current_thread().block_on(async {
        let mut ws = minimal_connect(&url).await;
        let body = Utf8Bytes::from("x".repeat(SIZE));
        for i in 0..n {
            ws.feed(Message::Text(body.clone())).await.expect("feed");
            if i % 256 == 255 {
                ws.flush().await.expect("flush");
            }
        }
        ws.close(None).await.expect("close");
        while let Some(Ok(_)) = ws.next().await {}
    });
}

/// The baseline subscriber: n bodies + '\n' into a buffered stdout.
fn minimal_sub() {
    let url = std::env::args().next_back().expect("url");
    let n = env_or("PUBCAT_BENCH_N", 1_000_000);
    current_thread().block_on(async {
        let mut ws = minimal_connect(&url).await;
        let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let mut got = 0;
        while got < n {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    out.write_all(t.as_bytes()).expect("write");
                    out.write_all(b"\n").expect("write");
                    got += 1;
                }
                Some(Ok(Message::Binary(b))) => {
                    out.write_all(&b).expect("write");
                    out.write_all(b"\n").expect("write");
                    got += 1;
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        out.flush().expect("flush");
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    });
}
