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
//!
//! Subscribers read from a source that must be faster than any of them, or
//! the figures measure the source: an in-process tokio-tungstenite server
//! topped out near 5.8 M msg/s, and both clients read at its pace ("1.00×")
//! though the minimal one could take 1.6 times as many. So the source is a
//! process of its own (this executable, PUBCAT_BENCH_ROLE=source) that
//! encodes the 1,000,000 frames once at start and writes the whole stream
//! into each connection in one `write_all` after the handshake, on one
//! thread. The proof that it is not the limit is printed beside the
//! figures: a null reader (PUBCAT_BENCH_ROLE=null: the handshake, then
//! every byte read and dropped, no frame parsed) and the source's own CPU
//! seconds while it sent to each reader, with each reader's CPU seconds
//! (user + system, from `getrusage` of the children), since a rate alone
//! hides how much work a reader did for it.
//!
//! PUBCAT_BENCH_ROLE=serve runs only the sink and the source (their URLs are
//! printed), for profiling a client by hand.
//!
//! Measured 2026-12-05 (2 shared cores, other builds running), three runs
//! of 5: subscribe 0.87×, 0.84×, 0.81× (pubcat 5.8–7.4 M msg/s on 0.113–
//! 0.122 s of CPU, the minimal client 6.9–8.5 M on 0.099–0.107 s); the
//! null reader 21–30 M msg/s, the source 0.008–0.010 s of CPU a million.
//! pubcat before issue 20's receive work read 0.68–1.00× against the
//! in-process server and 0.78–0.79× here, on 1.3× the minimal's CPU.

mod common;

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data as OpData, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use common::{
    baseline, count_output, current_thread, env_or, median, own_cpu_secs, rotated, stdin_chunks,
};

const SIZE: usize = 64;

/// Builds the command for a role ("pub", "sub", "gen") of one contender;
/// None where the contender has no such role.
type MakeCommand<'a> = Box<dyn Fn(&str) -> Option<Command> + 'a>;

fn main() {
    match std::env::var("PUBCAT_BENCH_ROLE").as_deref() {
        Ok("pub") => return minimal_pub(),
        Ok("sub") => return minimal_sub(),
        Ok("gen") => return minimal_gen(),
        Ok("source") => return source(),
        Ok("null") => return null_reader(),
        // The servers alone, to profile a client against by hand.
        Ok("serve") => {
            let n = env_or("PUBCAT_BENCH_MESSAGES", 1_000_000);
            let servers = Servers::start();
            let me = std::env::current_exe().expect("current exe");
            let source = Source::start(&me, n);
            println!("sink ws://{}/sink", servers.sink);
            println!("source {}", source.url);
            loop {
                std::thread::park();
            }
        }
        _ => {}
    }
    // `cargo bench` passes `--bench`; nothing else to parse.
    let n = env_or("PUBCAT_BENCH_MESSAGES", 1_000_000);
    let runs = env_or("PUBCAT_BENCH_RUNS", 3);
    let servers = Servers::start();
    let pubcat = env!("CARGO_BIN_EXE_pubcat");
    let me = std::env::current_exe().expect("current exe");
    let source = Source::start(&me, n);
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
    let mut receive_cpu: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let mut source_cpu: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    // The null reader: the source's own rate, into a reader that does nothing.
    let (mut null_rate, mut null_cpu, mut null_source_cpu) = (Vec::new(), Vec::new(), Vec::new());
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
        // Subscribe: stdout into a pipe we read and check, from the source
        // process; the null reader first, as the source's own rate.
        let counted = count_output(
            Command::new(&me)
                .env("PUBCAT_BENCH_ROLE", "null")
                .env("PUBCAT_BENCH_N", n.to_string())
                .arg(&source.url),
        );
        if !counted.status.success() {
            eprintln!("FAIL: null reader: {counted}");
            failed = true;
        }
        null_rate.push(n as f64 / counted.secs);
        null_cpu.push(counted.cpu_secs);
        null_source_cpu.push(source.served());
        for (i, name, mut command) in in_turn(&contenders, "sub", run) {
            let counted = count_output(command.arg(&source.url));
            if !counted.is_complete(n, SIZE + 1) {
                eprintln!("FAIL: {name} subscribe: {counted}");
                failed = true;
            }
            receive[i].push(n as f64 / counted.secs);
            receive_cpu[i].push(counted.cpu_secs);
            source_cpu[i].push(source.served());
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
    // The receive ceiling: each reader's rate beside the CPU it used, and
    // the source's CPU while it sent to it. The null reader does nothing
    // with what it reads, so its rate is the source's: above every
    // client's, it shows the source is not what limits them.
    println!();
    println!("subscribe {SIZE}B x{n} from the source process (pre-encoded frames, one write):");
    println!(
        "{:<14} {:>15} {:>12} {:>12}",
        "reader", "rate", "reader CPU", "source CPU"
    );
    let secs = |v: &[f64]| shown(v, &|s| format!("{s:.3} s"));
    let reader = |name: &str, rates: &[f64], cpu: &[f64], source_cpu: &[f64]| {
        println!(
            "{name:<14} {:>15} {:>12} {:>12}",
            shown(rates, &rate),
            secs(cpu),
            secs(source_cpu)
        );
    };
    for (i, (name, _)) in contenders.iter().enumerate() {
        reader(name, &receive[i], &receive_cpu[i], &source_cpu[i]);
    }
    reader("null reader", &null_rate, &null_cpu, &null_source_cpu);
    println!(
        "(CPU = user + system seconds of that process for the whole run, the source's while it sent; null reader = reads the socket and discards the bytes)"
    );
    source.stop();
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

/// The in-process sink: it counts what each connection sent.
struct Servers {
    sink: SocketAddr,
    sink_counts: mpsc::Receiver<usize>,
    _rt: tokio::runtime::Runtime,
}

impl Servers {
    fn start() -> Servers {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = mpsc::channel();
        let sink = rt.block_on(listen());
        let sink_addr = sink.local_addr().expect("addr");
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
        Servers {
            sink: sink_addr,
            sink_counts: rx,
            _rt: rt,
        }
    }
}

/// The source subscribers read from: this executable in the role
/// "source", a process of its own, so that what it spends is not taken
/// from the client measured, and nothing of it is shared with the
/// minimal client's runtime.
struct Source {
    url: String,
    child: Child,
    /// The source's CPU seconds for each connection it served, in order.
    served: mpsc::Receiver<f64>,
}

impl Source {
    fn start(me: &Path, n: usize) -> Source {
        let mut child = Command::new(me)
            .env("PUBCAT_BENCH_ROLE", "source")
            .env("PUBCAT_BENCH_N", n.to_string())
            // It ends when this closes: when the bench ends, however.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn source");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = lines.next().and_then(|l| l.ok()).expect("the source's URL");
        let (tx, served) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(|l| l.ok()) {
                let cpu = line.parse().unwrap_or(f64::NAN);
                if tx.send(cpu).is_err() {
                    return;
                }
            }
        });
        Source { url, child, served }
    }

    /// The source's CPU seconds for the connection it served last.
    fn served(&self) -> f64 {
        self.served
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or(f64::NAN)
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
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
        let mut out = BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
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

/// A text frame of SIZE bytes from the server: a two-byte header (SIZE is
/// below 126), unmasked.
const FRAME: usize = SIZE + 2;
/// What the source sends each connection: n frames, then a close frame
/// (a two-byte header, the two-byte code).
fn stream_len(n: usize) -> usize {
    n * FRAME + 4
}

/// The source: every message encoded once, at start, into one byte stream
/// (n text frames, then a close frame) that is written whole into each
/// connection after its handshake: one connection at a time, on one
/// thread. Prints its URL, then for each connection served the CPU seconds
/// the write took; ends when its stdin closes.
fn source() {
    let n = env_or("PUBCAT_BENCH_N", 1_000_000);
    let mut stream = Vec::with_capacity(stream_len(n));
    let body = Bytes::from("x".repeat(SIZE));
    for _ in 0..n {
        Frame::message(body.clone(), OpCode::Data(OpData::Text), true)
            .format(&mut stream)
            .expect("encode");
    }
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: Utf8Bytes::default(),
    };
    Frame::close(Some(close))
        .format(&mut stream)
        .expect("encode");
    assert_eq!(stream.len(), stream_len(n), "the frames' size");

    let listener = current_thread()
        .block_on(listen())
        .into_std()
        .expect("listener");
    listener.set_nonblocking(false).expect("blocking listener");
    let mut out = std::io::stdout().lock();
    let addr = listener.local_addr().expect("addr");
    writeln!(out, "ws://{addr}/source").expect("write URL");
    out.flush().expect("flush URL");
    // The bench holds our stdin: when it ends, so do we.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    for tcp in listener.incoming() {
        let Ok(tcp) = tcp else { continue };
        let cpu = serve_source(tcp, &stream).unwrap_or(f64::NAN);
        if writeln!(out, "{cpu}").and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}

/// One connection: the handshake, the whole stream in one write, then what
/// the client sends (its close) until it hangs up. The CPU seconds the
/// write took, or None if the connection failed.
fn serve_source(tcp: std::net::TcpStream, stream: &[u8]) -> Option<f64> {
    tcp.set_nodelay(true).ok()?;
    let mut ws = tungstenite::accept(tcp).ok()?;
    let tcp = ws.get_mut();
    let before = own_cpu_secs();
    tcp.write_all(stream).ok()?;
    let cpu = own_cpu_secs() - before;
    let _ = tcp.shutdown(Shutdown::Write);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 4096];
    while matches!(tcp.read(&mut buf), Ok(k) if k > 0) {}
    Some(cpu)
}

/// The null reader: the handshake by hand, then every byte read and
/// dropped until the source has sent all: no frame is parsed and nothing
/// printed, so its rate is the source's own.
fn null_reader() {
    let url = std::env::args().next_back().expect("url");
    let n = env_or("PUBCAT_BENCH_N", 1_000_000);
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host");
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    write!(
        tcp,
        "GET /source HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .expect("request");
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    // What came after the answer's blank line.
    let mut got = loop {
        let k = tcp.read(&mut buf).expect("read answer");
        head.extend_from_slice(&buf[..k]);
        if let Some(end) = memchr::memmem::find(&head, b"\r\n\r\n") {
            assert!(head.starts_with(b"HTTP/1.1 101"), "the source refused");
            break head.len() - (end + 4);
        }
        assert!(k > 0, "the source closed during the handshake");
    };
    loop {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    if got != stream_len(n) {
        eprintln!("null reader: {got} bytes, expected {}", stream_len(n));
        std::process::exit(1);
    }
}
