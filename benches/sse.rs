//! SSE receive rate: `pubcat sub` against a minimal SSE reader on reqwest
//! (memchr line splitting, `data:` lines written to a BufWriter), both
//! reading the same 1,000,000 64-byte events from an in-process server over
//! loopback, in the same run. Prints the rates and each reader's CPU time;
//! asserts only correctness (every event arrived, byte-exact), never time.
//!
//! `cargo bench --bench sse`; PUBCAT_BENCH_MESSAGES and PUBCAT_BENCH_RUNS
//! make it shorter or longer. PUBCAT_BENCH_BASELINE=/path/to/an/older/pubcat
//! (an absolute path) adds a third reader, "baseline": that binary with the
//! same command line as pubcat's, taking turns with the others, and columns
//! for its rate, its CPU time and pubcat/baseline, so a change is measured
//! against the build before it in the same run on the same machine. The
//! minimal reader is this same executable run with PUBCAT_BENCH_ROLE=sse, so
//! all write to the same kind of pipe; PUBCAT_BENCH_ROLE=serve runs only the
//! server and prints its URL.

mod common;

use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{baseline, count_output, env_or, median, rotated};

const SIZE: usize = 64;

/// Builds the command line of one contender.
type MakeCommand<'a> = Box<dyn Fn() -> Command + 'a>;

fn main() {
    let role = std::env::var("PUBCAT_BENCH_ROLE");
    if role.as_deref() == Ok("sse") {
        return minimal_reader();
    }
    let n = env_or("PUBCAT_BENCH_MESSAGES", 1_000_000);
    let runs = env_or("PUBCAT_BENCH_RUNS", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = rt.block_on(serve(n));
    let url = format!("http://{addr}/events");
    if role.as_deref() == Ok("serve") {
        // The server alone, to profile a reader against by hand.
        println!("{url}");
        loop {
            std::thread::park();
        }
    }
    let pubcat = env!("CARGO_BIN_EXE_pubcat");
    let me = std::env::current_exe().expect("current exe");
    let baseline = baseline();
    let sub = |bin: &Path| {
        let mut c = Command::new(bin);
        c.args(["-q", "sub", &url, "-o", "raw", "-n", &n.to_string()]);
        c
    };

    let mut contenders: Vec<(&str, MakeCommand)> = vec![
        ("pubcat", Box::new(|| sub(Path::new(pubcat)))),
        (
            "minimal",
            Box::new(|| {
                let mut c = Command::new(&me);
                c.env("PUBCAT_BENCH_ROLE", "sse")
                    .env("PUBCAT_BENCH_N", n.to_string())
                    .env("PUBCAT_BENCH_URL", &url);
                c
            }),
        ),
    ];
    // Third, so the table's columns follow the contenders' order.
    if let Some(path) = &baseline {
        contenders.push(("baseline", Box::new(|| sub(path))));
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let mut failed = false;
    for run in 0..runs {
        // Take turns going first, so none always gets the warm cache.
        for i in rotated((0..contenders.len()).collect(), run) {
            let (name, make) = &contenders[i];
            let counted = count_output(&mut make());
            if !counted.is_complete(n, SIZE + 1) {
                eprintln!("FAIL: {name}: {counted}");
                failed = true;
            }
            rates[i].push(n as f64 / counted.secs);
            cpu[i].push(counted.cpu_secs);
        }
    }
    // The baseline's two columns, or nothing: without it the table is as
    // it was before there was one.
    // Its index: pushed third, above.
    let b = baseline.as_ref().map(|_| 2);
    let column = |text: Option<String>| text.map(|t| format!(" {t:>15}")).unwrap_or_default();
    let (p, m) = (median(&rates[0]), median(&rates[1]));
    println!(
        "{:<30} {:>15} {:>15}{} {:>7}{}  {:<8}",
        "workload",
        "pubcat",
        "minimal",
        column(b.map(|_| "baseline".into())),
        "ratio",
        column(b.map(|_| "pubcat/baseline".into())),
        "target"
    );
    println!(
        "{:<30} {:>15} {:>15}{} {:>7.2}{}  {:<8} {}",
        format!("SSE receive {SIZE}B x{n}"),
        format!("{:.2} M ev/s", p / 1e6),
        format!("{:.2} M ev/s", m / 1e6),
        column(b.map(|b| format!("{:.2} M ev/s", median(&rates[b]) / 1e6))),
        p / m,
        column(b.map(|b| format!("{:.2}", p / median(&rates[b])))),
        ">= 0.80",
        if p / m >= 0.8 { "ok" } else { "MISS" }
    );
    // The rate is the target; the in-process server and the pipe reader
    // share the two cores with the contender, so CPU time says more about
    // the reader's own work.
    let (pc, mc) = (median(&cpu[0]), median(&cpu[1]));
    println!(
        "{:<30} {:>15} {:>15}{} {:>7.2}{}  ({}: higher is better, as above)",
        "CPU time (user+sys)",
        format!("{:.1} ms", pc * 1e3),
        format!("{:.1} ms", mc * 1e3),
        column(b.map(|b| format!("{:.1} ms", median(&cpu[b]) * 1e3))),
        mc / pc,
        column(b.map(|b| format!("{:.2}", median(&cpu[b]) / pc))),
        if b.is_some() {
            "minimal's and baseline's CPU / pubcat's"
        } else {
            "minimal's CPU / pubcat's"
        },
    );
    println!(
        "(medians of {runs} alternating runs; minimal = reqwest bytes_stream + memchr lines + BufWriter)"
    );
    if let Some(path) = &baseline {
        println!("(baseline = {})", path.display());
    }
    if failed {
        eprintln!("FAIL: a run lost events or failed; see above");
        std::process::exit(1);
    }
}

/// A server that answers every GET with the same pre-built stream of `n`
/// events (`id:` and one `data:` line each), then holds the connection
/// open: an SSE client reconnects when a stream ends, and both readers stop
/// by themselves after `n` events.
async fn serve(n: usize) -> SocketAddr {
    let mut stream = Vec::with_capacity(n * (SIZE + 20));
    stream.extend_from_slice(b"retry: 60000\n\n");
    for i in 0..n {
        write!(stream, "id: {i}\ndata: {:0>width$}\n\n", i, width = SIZE).expect("write");
    }
    let stream = bytes::Bytes::from(stream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let _ = sock.set_nodelay(true);
            let stream = stream.clone();
            tokio::spawn(async move {
                // Read the request head (small; one read is enough here).
                let mut head = [0u8; 4096];
                let _ = sock.read(&mut head).await;
                let response = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
                if sock.write_all(response).await.is_err() {
                    return;
                }
                for chunk in stream.chunks(256 * 1024) {
                    if sock.write_all(chunk).await.is_err() {
                        return;
                    }
                }
                // Hold the connection until the client goes away.
                let mut rest = [0u8; 64];
                while let Ok(k) = sock.read(&mut rest).await {
                    if k == 0 {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// The baseline: GET, split the byte stream on LF with memchr, write each
/// `data:` value plus LF to a buffered stdout, stop after n events.
fn minimal_reader() {
    let n = env_or("PUBCAT_BENCH_N", 0);
    let url = std::env::var("PUBCAT_BENCH_URL").expect("PUBCAT_BENCH_URL");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // reqwest is built without a default TLS provider (pubcat brings one);
    // plain http needs none, but the builder insists on one being set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    rt.block_on(async {
        let response = reqwest::Client::new()
            .get(&url)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .expect("GET");
        let mut body = response.bytes_stream();
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
        let mut line = Vec::new();
        let mut seen = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.expect("body");
            let mut rest = &chunk[..];
            while let Some(i) = memchr::memchr(b'\n', rest) {
                let full: &[u8] = if line.is_empty() {
                    &rest[..i]
                } else {
                    line.extend_from_slice(&rest[..i]);
                    &line
                };
                if let Some(data) = full.strip_prefix(b"data: ") {
                    out.write_all(data).expect("write");
                    out.write_all(b"\n").expect("write");
                    seen += 1;
                }
                line.clear();
                rest = &rest[i + 1..];
                if seen == n {
                    out.flush().expect("flush");
                    return;
                }
            }
            line.extend_from_slice(rest);
            out.flush().expect("flush");
        }
    });
}
