//! What `pubcat serve` costs under the attacks issue 17 measured, against
//! the release binary with its default flags. Prints figures; asserts only
//! that each scenario did what it says (every subscriber dropped, every
//! reply whole), never a time.
//!
//! 1. **Stuck subscribers**: `pubcat pub` of 200,000 lines of 100 bytes
//!    over WebSocket, alone and with eight WebSocket subscribers attached
//!    that never read, taking turns, PUBCAT_BENCH_RUNS times (5); the
//!    medians, the ratio, and the CPU time of the publisher and the broker.
//! 2. **Replay amplification**: 60 messages of 15 MB POSTed to one topic,
//!    then three concurrent SSE replays of everything kept (`?since=0`),
//!    then three concurrent long-polls: the broker's resident memory after
//!    each, and its peak.
//! 3. **Many topics**: 50,000 topics of one message each; the broker's
//!    resident memory after, and how many were kept and refused.
//! 4. **kill -9**: `serve --data-dir --fsync always`, 16 connections
//!    POSTing up to 100,000 messages in all, killed with SIGKILL at a
//!    random moment, restarted: every message whose POST was answered must
//!    be there, with the id it was given. 5 runs (PUBCAT_BENCH_KILLS).
//!
//! `cargo bench --bench serve`; PUBCAT_BENCH_ROLE=stuck|replay|topics|kill9
//! runs one scenario.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{env_or, median, rotated};

fn main() {
    let role = std::env::var("PUBCAT_BENCH_ROLE").unwrap_or_default();
    if role.is_empty() || role == "stuck" {
        stuck(env_or("PUBCAT_BENCH_RUNS", 5));
    }
    if role.is_empty() || role == "replay" {
        replay();
    }
    if role.is_empty() || role == "topics" {
        topics();
    }
    if role.is_empty() || role == "kill9" {
        kill9(env_or("PUBCAT_BENCH_KILLS", 5));
    }
}

/// A `pubcat serve` on a free port, with `extra` flags.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pubcat"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pubcat serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = loop {
            let line = lines.next().expect("serve exited").expect("stderr");
            if let Some(rest) = line.split("listening on ws://").nth(1) {
                break rest.split('/').next().unwrap().parse().expect("addr");
            }
        };
        // Keep draining its stderr so that it never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        Serve { child, addr }
    }

    /// `/proc/PID/status` field in KiB (VmRSS now, VmHWM the peak).
    fn mem_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("memory field")
    }

    fn rss_mb(&self) -> f64 {
        self.mem_kib("VmRSS:") as f64 / 1024.0
    }

    fn peak_mb(&self) -> f64 {
        self.mem_kib("VmHWM:") as f64 / 1024.0
    }

    /// User and system CPU seconds so far.
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("proc stat");
        // Fields after the command name (which may hold spaces): utime is
        // the 14th field, stime the 15th, in clock ticks.
        let after = &stat[stat.rfind(')').expect("stat") + 2..];
        let f: Vec<&str> = after.split(' ').collect();
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / hz
    }

    fn stats(&self) -> serde_json::Value {
        let mut c = Http::connect(self.addr);
        let (status, body) = c.request("GET", "/_/stats", b"");
        assert_eq!(status, 200);
        serde_json::from_slice(&body).expect("stats")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP/1.1 connection, enough for POST and GET.
struct Http {
    r: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl Http {
    fn connect(addr: SocketAddr) -> Http {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        Http {
            r: BufReader::with_capacity(1 << 20, s),
            addr,
        }
    }

    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        self.try_request(method, path, body).expect("request")
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = self.r.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (mut len, mut chunked) = (0usize, false);
        loop {
            line.clear();
            self.r.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.trim().eq_ignore_ascii_case("chunked");
            }
        }
        if !chunked {
            let mut body = vec![0; len];
            self.r.read_exact(&mut body)?;
            return Ok((status, body));
        }
        let mut body = Vec::new();
        loop {
            line.clear();
            self.r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            let at = body.len();
            body.resize(at + size + 2, 0);
            self.r.read_exact(&mut body[at..])?;
            body.truncate(at + size);
            if size == 0 {
                return Ok((status, body));
            }
        }
    }
}

/// A WebSocket subscriber that completes its handshake and never reads.
fn stuck_subscriber(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

fn stuck(runs: usize) {
    const LINES: usize = 200_000;
    const STUCK: usize = 8;
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines");
    let line = format!("{}\n", "x".repeat(99));
    std::fs::write(&input, line.repeat(LINES)).unwrap();
    let mut secs: [Vec<f64>; 2] = Default::default();
    let mut cpu_pub: [Vec<f64>; 2] = Default::default();
    let mut cpu_serve: [Vec<f64>; 2] = Default::default();
    let mut topic = 0;
    for run in 0..runs {
        for with in rotated(vec![0usize, 1], run) {
            topic += 1;
            let path = format!("/stuck{topic}");
            let dropped_before = serve.stats()["slow_subscribers"]["dropped"]
                .as_u64()
                .unwrap();
            let subs: Vec<TcpStream> = (0..STUCK * with)
                .map(|_| stuck_subscriber(serve.addr, &path))
                .collect();
            wait_for_subscribers(&serve, &path[1..], subs.len());
            let url = format!("ws://{}{path}", serve.addr);
            let serve_cpu = serve.cpu_secs();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_pubcat"));
            cmd.args(["-q", "pub", &url]);
            let input = std::fs::File::open(&input).unwrap();
            let counted = common::count_output_with(&mut cmd, input.into());
            assert!(counted.status.success(), "pub: {counted}");
            secs[with].push(counted.secs);
            cpu_pub[with].push(counted.cpu_secs);
            cpu_serve[with].push(serve.cpu_secs() - serve_cpu);
            // Every stuck one is dropped (the broker may still be taking
            // the last frames when `pub` exits).
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let dropped = serve.stats()["slow_subscribers"]["dropped"]
                    .as_u64()
                    .unwrap();
                if dropped - dropped_before == subs.len() as u64 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} of {} stuck dropped",
                    dropped - dropped_before,
                    subs.len()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(subs);
        }
    }
    let (alone, with) = (median(&secs[0]), median(&secs[1]));
    println!("serve: pub of {LINES} lines x 100 B over ws, median of {runs} runs");
    println!(
        "{:<34} {:>9} {:>12} {:>12}",
        "", "wall", "pub CPU", "serve CPU"
    );
    for (i, name) in ["alone", "with 8 stuck subscribers"].iter().enumerate() {
        println!(
            "{name:<34} {:>7.3} s {:>10.3} s {:>10.3} s",
            median(&secs[i]),
            median(&cpu_pub[i]),
            median(&cpu_serve[i])
        );
    }
    println!("{:<34} {:>8.2}x", "with / alone", with / alone);
    let spread = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0f64), |(l, h), x| (l.min(*x), h.max(*x)));
        format!("{lo:.3}..{hi:.3} s")
    };
    println!(
        "spread: alone {}, with {}",
        spread(&secs[0]),
        spread(&secs[1])
    );
}

fn wait_for_subscribers(serve: &Serve, topic: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = serve.stats();
        let subs = stats["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == topic)
            .map_or(0, |t| t["subscribers"].as_u64().unwrap());
        if subs as usize == n {
            return;
        }
        assert!(Instant::now() < deadline, "{n} subscribers never came");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn replay() {
    const MESSAGES: usize = 60;
    const SIZE: usize = 15 << 20;
    let serve = Serve::start(&[]);
    let body = vec![b'x'; SIZE];
    let mut c = Http::connect(serve.addr);
    for _ in 0..MESSAGES {
        assert_eq!(c.request("POST", "/big", &body).0, 200);
    }
    let kept = serve.stats()["kept_bytes"].as_u64().unwrap();
    let after_posts = serve.rss_mb();
    // Three SSE replays at once, each read until the last id.
    let addr = serve.addr;
    let readers: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                write!(
                    s,
                    "GET /big?since=0 HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
                )
                .unwrap();
                // Everything kept, then the last id's line.
                let needle = format!("\nid: {MESSAGES}\n");
                let mut buf = vec![0u8; 1 << 20];
                let (mut tail, mut total, mut last) = (Vec::new(), 0usize, false);
                loop {
                    let k = s.read(&mut buf).unwrap();
                    assert!(k > 0, "replay ended early");
                    total += k;
                    tail.extend_from_slice(&buf[..k]);
                    last |= memchr::memmem::find(&tail, needle.as_bytes()).is_some();
                    if last && total as u64 >= kept {
                        return total;
                    }
                    let keep = tail.len().saturating_sub(needle.len());
                    tail.drain(..keep);
                }
            })
        })
        .collect();
    let got: Vec<usize> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let after_sse = (serve.rss_mb(), serve.peak_mb());
    let polls: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Http::connect(addr);
                let (status, body) = c.request("GET", "/big?since=0", b"");
                assert_eq!(status, 200);
                body.len()
            })
        })
        .collect();
    let paged: Vec<usize> = polls.into_iter().map(|p| p.join().unwrap()).collect();
    let after_polls = (serve.rss_mb(), serve.peak_mb());
    println!(
        "serve: {MESSAGES} x {} MB POSTed to one topic ({} MB kept by --history-bytes): RSS {after_posts:.0} MB",
        SIZE >> 20,
        kept >> 20
    );
    println!(
        "  then 3 concurrent SSE ?since=0 ({} MB read each): RSS {:.0} MB, peak {:.0} MB",
        got[0] >> 20,
        after_sse.0,
        after_sse.1
    );
    println!(
        "  then 3 concurrent long-polls ?since=0 ({} MB page each): RSS {:.0} MB, peak {:.0} MB",
        paged[0] >> 20,
        after_polls.0,
        after_polls.1
    );
}

fn topics() {
    const TOPICS: usize = 50_000;
    let serve = Serve::start(&[]);
    let before = serve.rss_mb();
    let mut c = Http::connect(serve.addr);
    let (mut kept, mut refused) = (0, 0);
    for i in 0..TOPICS {
        match c.request("POST", &format!("/topic{i}"), b"one message").0 {
            200 => kept += 1,
            503 => refused += 1,
            other => panic!("POST answered {other}"),
        }
    }
    let stats = serve.stats();
    assert_eq!(stats["topics"].as_array().unwrap().len(), kept);
    println!(
        "serve: {TOPICS} topics of one message: {kept} kept, {refused} refused (--max-topics); \
         RSS {before:.0} MB before, {:.0} MB after, peak {:.0} MB",
        serve.rss_mb(),
        serve.peak_mb()
    );
}

fn kill9(runs: usize) {
    const MESSAGES: usize = 100_000;
    const CONNECTIONS: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let flags = [
        "--data-dir",
        &data,
        "--fsync",
        "always",
        "--history",
        "1000000",
    ];
    let (mut confirmed_all, mut lost_all) = (0usize, 0usize);
    for run in 0..runs {
        let topic = format!("/durable{run}");
        let mut serve = Serve::start(&flags);
        let addr = serve.addr;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writers: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let (topic, stop, count) = (topic.clone(), stop.clone(), count.clone());
                std::thread::spawn(move || {
                    // (body, id) of every POST answered 200.
                    let mut confirmed = Vec::new();
                    let mut http = Http::connect(addr);
                    for i in (c..MESSAGES).step_by(CONNECTIONS) {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            break;
                        }
                        let body = format!("m{i}");
                        // A killed broker: the request or its answer fails.
                        match http.try_request("POST", &topic, body.as_bytes()) {
                            Ok((200, answer)) => {
                                let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
                                confirmed.push((body, v["id"].as_u64().unwrap()));
                                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            _ => break,
                        }
                    }
                    confirmed
                })
            })
            .collect();
        // The kill: at a random moment while the POSTs go on, after
        // between a tenth and all of the messages were confirmed.
        let random = {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish() as usize
        };
        let kill_at = MESSAGES / 10 + random % (MESSAGES - MESSAGES / 10);
        let started = Instant::now();
        while count.load(std::sync::atomic::Ordering::Relaxed) < kill_at {
            std::thread::sleep(Duration::from_millis(1));
        }
        let wait_ms = started.elapsed().as_millis();
        let _ = serve.child.kill();
        let _ = serve.child.wait();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let confirmed: Vec<(String, u64)> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        drop(serve);
        // Restarted on the same directory: read back everything kept.
        let serve = Serve::start(&flags);
        let last = confirmed.iter().map(|(_, id)| *id).max().unwrap_or(0);
        let mut kept = std::collections::HashMap::new();
        let mut c = Http::connect(serve.addr);
        let mut since = 0;
        while since < last {
            let (status, page) = c.request("GET", &format!("{topic}?since={since}"), b"");
            assert_eq!(status, 200, "page after {since}");
            let page: Vec<serde_json::Value> = serde_json::from_slice(&page).unwrap();
            for m in &page {
                since = m["id"].as_u64().unwrap();
                kept.insert(since, m["body"].as_str().unwrap().to_string());
            }
        }
        let lost = confirmed
            .iter()
            .filter(|(body, id)| kept.get(id) != Some(body))
            .count();
        println!(
            "  run {}: killed after {wait_ms} ms, {} confirmed (ids up to {last}), {lost} lost or moved",
            run + 1,
            confirmed.len()
        );
        confirmed_all += confirmed.len();
        lost_all += lost;
    }
    println!(
        "serve --fsync always, kill -9 at random moments, {runs} runs: {lost_all} of {confirmed_all} confirmed messages lost"
    );
}
