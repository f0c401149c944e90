//! Shared test helpers: run the real `pubcat` binary and a real broker
//! (`pubcat serve`) on 127.0.0.1 with an ephemeral port.

pub mod fault;
pub mod pty;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_pubcat");

/// A `pubcat` command with a clean environment for tests.
pub fn pubcat() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("PUBCAT_URL")
        .env_remove("PUBCAT_TOKEN")
        .env_remove("PUBCAT_OUTPUT")
        .env_remove("NO_COLOR");
    cmd
}

/// `pubcat serve --listen 127.0.0.1:0`, killed on drop. Its stderr lines are
/// kept so tests can check what the broker saw.
pub struct Broker {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
    /// The first `--token` (or `--token-sub`) it was started with: what
    /// the helpers that read `/_/stats` present.
    token: Option<String>,
}

impl Broker {
    pub fn start() -> Broker {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Broker {
        Self::start_at("127.0.0.1:0", extra)
    }

    /// A broker on a given address (to restart one where clients expect it).
    pub fn start_at(listen: &str, extra: &[&str]) -> Broker {
        let mut child = pubcat()
            .args(["serve", "--listen", listen])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pubcat serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut before = Vec::new();
        let addr = loop {
            let line = lines
                .next()
                .expect("pubcat serve exited before listening")
                .expect("read serve stderr");
            before.push(line.clone());
            if let Some(rest) = line
                .split("listening on ws://")
                .nth(1)
                .or_else(|| line.split("listening on wss://").nth(1))
            {
                let addr = rest.split('/').next().expect("addr");
                // `localhost:PORT` when it listens on a name: its first address.
                break std::net::ToSocketAddrs::to_socket_addrs(addr)
                    .expect("listen address")
                    .next()
                    .expect("an address");
            }
        };
        let log = Arc::new(Mutex::new(before));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let token = extra
            .windows(2)
            .find(|w| w[0] == "--token" || w[0] == "--token-sub")
            .map(|w| w[1].to_string());
        Broker {
            child,
            addr,
            log,
            token,
        }
    }

    pub fn url(&self, topic: &str) -> String {
        format!("ws://{}/{}", self.addr, topic)
    }

    /// Wait (bounded) until `topic` has at least `n` subscribers, as the
    /// broker itself reports it: the signal that a subscriber is live.
    pub fn wait_for_subscribers(&self, topic: &str, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let stats = self.stats();
            if subscriber_count(&stats, topic) >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {n} subscriber(s) on {topic}: {stats}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET /_/stats`, with the broker's token if it has one.
    pub fn stats(&self) -> serde_json::Value {
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("Authorization", b.as_str()))
            .collect();
        let (status, body) = http_with(self.addr, "GET", "/_/stats", b"", &headers);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("stats json")
    }

    /// Wait (bounded) until a broker log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "broker never logged `{needle}`: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn subscriber_count(stats: &serde_json::Value, topic: &str) -> u64 {
    topic_stat(stats, topic, "subscribers")
}

/// A topic's number in `/_/stats` (`subscribers`, `last_id`…); 0 for a
/// topic it does not list.
pub fn topic_stat(stats: &serde_json::Value, topic: &str, field: &str) -> u64 {
    stats["topics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["topic"] == topic)
        .and_then(|t| t[field].as_u64())
        .unwrap_or(0)
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 request over a real socket: (status, body).
pub fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    http_with(addr, method, path, body, &[])
}

/// [`http`] with extra request headers.
pub fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (u16, Vec<u8>) {
    try_http_with(addr, method, path, body, headers).expect("HTTP request")
}

/// [`http_with`], failing when the connection does (a broker that cuts
/// connections on purpose).
pub fn try_http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no response head"))?;
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut body = raw[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

/// A port free at the moment, for a server the test starts on it (another
/// server may take it first: only for servers started right away).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A port with nothing listening on it, ever: connections are refused.
pub fn closed_port() -> u16 {
    // A socket bound to the port but never listening: a connection to it
    // is refused, and the port stays taken for the rest of the test run
    // (the socket is never closed), so a server that another test starts
    // at the same time on port 0 cannot get it (a listener bound and
    // dropped, as this was, freed the port: a concurrent fault server got
    // it, and this test's retrying client connected to that server).
    // SAFETY: plain socket calls on a socket we own; `addr` and `len` are
    // valid for the calls that read and write them.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let bound = libc::bind(fd, (&raw const addr).cast(), len);
        assert_eq!(bound, 0, "bind");
        let mut len = len;
        let named = libc::getsockname(fd, (&raw mut addr).cast(), &mut len);
        assert_eq!(named, 0, "getsockname");
        u16::from_be(addr.sin_port)
    }
}

/// Wait for a child with a bound; kill it and fail if it takes longer.
pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Everything a child wrote to a piped stream, read on a thread so a full
/// pipe never blocks it.
pub fn collect(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// Assert a finished command's exit code; returns its stderr.
pub fn assert_code(out: &std::process::Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    stderr
}

/// `pubcat ARGS` run to its end with stdin closed and both outputs
/// collected; asserts it exits within `limit` (else kills it and fails).
pub fn run_within(args: &[&str], limit: Duration) -> std::process::Output {
    let mut child = pubcat()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let status = wait_with_timeout(&mut child, limit);
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Each line of a command's stdout parsed as JSON (`-o json` output);
/// asserts every line is JSON.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect()
}

/// The string `field` of each `-o json` line of `stdout`; asserts every
/// line is JSON with that field a string.
pub fn json_strings(stdout: &[u8], field: &str) -> Vec<String> {
    json_lines(stdout)
        .iter()
        .map(|v| v[field].as_str().expect("a string field").to_string())
        .collect()
}

/// A TCP proxy to `upstream` that cuts every connection after passing
/// `cut_after` bytes downstream: a flaky network, on loopback.
pub fn flaky_proxy(upstream: SocketAddr, cut_after: usize) -> SocketAddr {
    proxy(upstream, move |client, mut server| {
        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
        std::thread::spawn(move || {
            let mut passed = 0;
            let mut buf = [0u8; 4096];
            while passed < cut_after {
                let n = match server.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n.min(cut_after - passed),
                };
                if (&client).write_all(&buf[..n]).is_err() {
                    break;
                }
                passed += n;
            }
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        });
    })
}

/// A TCP proxy to `upstream` on a free port: `each` gets every accepted
/// client with a connection of its own to `upstream` (a client whose
/// upstream connection is refused is dropped), on the accepting thread.
pub fn proxy(
    upstream: SocketAddr,
    mut each: impl FnMut(TcpStream, TcpStream) + Send + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            each(client, server);
        }
    });
    addr
}

/// Copy `from` into `to` on a thread of its own until `from` ends, then
/// end `to`'s writing half: one direction of a proxied connection.
pub fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Both directions of a proxied connection, untouched.
pub fn pipe_both(client: &TcpStream, server: &TcpStream) {
    pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
    pipe(server.try_clone().unwrap(), client.try_clone().unwrap());
}

/// Read `n` lines from the child's stdout, then interrupt it and return
/// (lines, exit code, stderr).
pub fn take_lines(mut child: Child, n: usize) -> (Vec<String>, i32, String) {
    let stdout = child.stdout.take().unwrap();
    let err = collect(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            lines.push(line);
            if lines.len() == n {
                break;
            }
        }
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(Duration::from_secs(90)).unwrap_or_default();
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    (lines, status.code().unwrap_or(-1), stderr)
}

/// Start `cmd` with stdout and stderr piped: the child, its stdout, and
/// its stderr collected on a thread.
pub fn spawn_reading(
    cmd: &mut Command,
) -> (
    Child,
    std::process::ChildStdout,
    std::thread::JoinHandle<Vec<u8>>,
) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = collect(child.stderr.take().unwrap());
    (child, stdout, stderr)
}

/// A running command whose stdout lines are collected as they arrive, so a
/// test can watch the count grow and, at the end, have every line.
pub struct Lines {
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

impl Lines {
    /// Start `cmd` with stdin closed and stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Lines {
        let (child, stdout, stderr) = spawn_reading(cmd.stdin(Stdio::null()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Lines {
            child,
            lines,
            reader,
            stderr,
        }
    }

    pub fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// The lines so far (the interop tests watch for given lines).
    #[allow(dead_code)]
    pub fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Ctrl-C, then [`Lines::finish`].
    pub fn stop(self) -> (Option<i32>, Vec<String>, String) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.finish()
    }

    /// Wait for it to exit: (exit code, every line, stderr).
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        let code = wait_with_timeout(&mut self.child, Duration::from_secs(60)).code();
        let stderr = String::from_utf8_lossy(&self.stderr.join().unwrap()).to_string();
        // The pipe closed with the process: the reader ends with its last line.
        self.reader.join().unwrap();
        let lines = std::mem::take(&mut *self.lines.lock().unwrap());
        (code, lines, stderr)
    }
}

/// Start `cmd` with stdin closed and stdout and stderr piped; return once
/// the broker counts it as a subscriber of `topic`.
pub fn start_subscriber(broker: &Broker, topic: &str, mut cmd: Command) -> Child {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    broker.wait_for_subscribers(topic, 1);
    child
}

/// Run `cmd` with `input` on its stdin (then closed): (exit status, stderr).
pub fn run_with_input(
    mut cmd: Command,
    input: &[u8],
    limit: Duration,
) -> (std::process::ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = collect(child.stderr.take().unwrap());
    child.stdin.take().unwrap().write_all(input).unwrap();
    let status = wait_with_timeout(&mut child, limit);
    (
        status,
        String::from_utf8_lossy(&err.join().unwrap()).to_string(),
    )
}

/// `pubcat pub URL` with `input` on its stdin (then closed); asserts it
/// exits 0 within `limit`.
pub fn publish_input(url: &str, input: &[u8], limit: Duration) {
    let mut cmd = pubcat();
    cmd.args(["pub", url]);
    let (status, stderr) = run_with_input(cmd, input, limit);
    assert!(status.success(), "publish to {url} failed: {stderr}");
}

/// Publish `m1`..`mN`, one a line, through `cmd` (a `pub … --confirm`);
/// asserts every one was confirmed.
pub fn publish_numbered(cmd: Command, n: usize) {
    let input: String = (1..=n).map(|i| format!("m{i}\n")).collect();
    let (status, stderr) = run_with_input(cmd, input.as_bytes(), Duration::from_secs(120));
    assert!(status.success(), "publish failed: {stderr}");
    assert_eq!(
        stderr.matches("confirmed").count(),
        n,
        "not every SEND got its receipt: {stderr}"
    );
}

/// A TCP proxy to `upstream` that cuts every connection, the first one
/// too, after a lifetime drawn between `min` and `max` (a xorshift seeded
/// by `seed`, so a failing run can be repeated): a network that keeps
/// dropping, on loopback. Also returns the count of connections it took.
pub fn cutting_proxy(
    upstream: SocketAddr,
    min: Duration,
    max: Duration,
    seed: u64,
) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    let mut x = seed | 1;
    let addr = proxy(upstream, move |client, server| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let span = (max - min).as_millis() as u64 + 1;
        let life = min + Duration::from_millis(x % span);
        pipe_both(&client, &server);
        std::thread::spawn(move || {
            std::thread::sleep(life);
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        });
    });
    (addr, accepted)
}

/// A TCP proxy to `upstream` with a gate: while it is shut, every new
/// client is dropped as soon as it is accepted (it sees its connection
/// lost and retries). Open it with `gate.store(true)`.
pub fn gated_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<std::sync::atomic::AtomicBool>) {
    let gate = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let open = gate.clone();
    let addr = proxy(upstream, move |client, server| {
        if open.load(std::sync::atomic::Ordering::SeqCst) {
            pipe_both(&client, &server);
        }
    });
    (addr, gate)
}

/// How big a soak to run: PUBCAT_SOAK_MESSAGES and PUBCAT_SOAK_RUNS, else
/// the defaults (a short run for `cargo test`).
pub fn soak_size(messages: usize, runs: usize) -> (usize, usize) {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("PUBCAT_SOAK_MESSAGES", messages),
        var("PUBCAT_SOAK_RUNS", runs),
    )
}

/// What one [`tail_through_cuts`] run saw.
pub struct Soak {
    pub transport: String,
    pub lines: Vec<String>,
    pub code: Option<i32>,
    pub stderr: String,
    pub connections: usize,
    pub elapsed: Duration,
}

impl Soak {
    /// Every message `m1`..`mN` exactly once, in order, and the proxy
    /// really did cut (a connection lives 150-600 ms); prints the figures.
    pub fn assert_complete(&self, n: usize) {
        self.assert_each_once(n);
        // A connection lives at most 600 ms, then tail waits 300 ms.
        let publishing = n as f64 / 100.0;
        assert!(
            self.connections as f64 >= (publishing / 0.9).floor(),
            "{}: only {} connection(s) in {publishing} s",
            self.transport,
            self.connections
        );
    }

    /// Every message `m1`..`mN` exactly once, in order, and tail ended by
    /// Ctrl-C; prints the figures (`connections`: the cuts).
    pub fn assert_each_once(&self, n: usize) {
        let want: Vec<String> = (1..=n).map(|i| format!("m{i}")).collect();
        let lost = want.iter().filter(|w| !self.lines.contains(w)).count();
        let mut seen = std::collections::HashSet::new();
        let duplicated = self.lines.iter().filter(|l| !seen.insert(*l)).count();
        eprintln!(
            "soak {}: {n} published, {} printed, {lost} lost, {duplicated} duplicated, {} connections, {:.1} s",
            self.transport,
            self.lines.len(),
            self.connections,
            self.elapsed.as_secs_f64()
        );
        assert!(
            self.lines == want,
            "{}: {} lines, {lost} lost, {duplicated} duplicated, first wrong at {:?}; stderr: {}",
            self.transport,
            self.lines.len(),
            self.lines.iter().zip(&want).position(|(a, b)| a != b),
            self.stderr
        );
        assert_eq!(self.code, Some(130), "{}", self.stderr);
    }
}

/// `pubcat tail` of `upstream` `path` through a [`cutting_proxy`] over
/// `transport` (sse, poll or ws), with `m1`..`mN` published to
/// `publish_url` at 100 a second (see [`tail_while_publishing`]): the
/// issue-16 loss test.
pub fn tail_through_cuts(
    upstream: SocketAddr,
    path: &str,
    publish_url: &str,
    transport: &str,
    n: usize,
    seed: u64,
) -> Soak {
    let (proxy, connections) = cutting_proxy(
        upstream,
        Duration::from_millis(150),
        Duration::from_millis(600),
        seed,
    );
    let mut soak = tail_while_publishing(&format!("http://{proxy}{path}"), transport, n, || {
        let input: String = (1..=n).map(|i| format!("m{i}\n")).collect();
        let mut cmd = pubcat();
        cmd.args(["pub", publish_url, "--rate", "100"]);
        let limit = Duration::from_secs(60 + n as u64 / 50);
        let (status, pub_err) = run_with_input(cmd, input.as_bytes(), limit);
        assert!(status.success(), "{pub_err}");
    });
    soak.connections = connections.load(std::sync::atomic::Ordering::Relaxed);
    soak
}

/// `pubcat tail URL` over `transport` (sse, poll or ws) while `publish`
/// publishes `m1`..`mN`, which it is called to do once tail's first
/// connection was lost before any message (tail then waits 300 ms to
/// reconnect). Once tail printed N lines (or a minute after `publish`
/// returned) it is given two more lost connections (a whole session
/// after the last message, which would print a repeat; at most 10 s),
/// then stopped with Ctrl-C; every line it printed is kept.
/// `connections` is left 0.
pub fn tail_while_publishing(url: &str, transport: &str, n: usize, publish: impl FnOnce()) -> Soak {
    let started = Instant::now();
    let mut tail = pubcat()
        .args(["tail", url, "-o", "raw"])
        .args(["--transport", transport, "--backoff-min", "300ms"])
        .args(["--backoff-max", "300ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (cut_tx, cut_rx) = std::sync::mpsc::channel();
    let lost = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stderr = {
        let err = BufReader::new(tail.stderr.take().unwrap());
        let lost = lost.clone();
        std::thread::spawn(move || {
            let mut all = String::new();
            for line in err.lines().map_while(Result::ok) {
                if line.contains("reconnecting") {
                    lost.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = cut_tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        })
    };
    let printed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let out = BufReader::new(tail.stdout.take().unwrap());
    let reader = {
        let printed = printed.clone();
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in out.lines().map_while(Result::ok) {
                lines.push(line);
                printed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            lines
        })
    };
    cut_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the first connection was never cut");
    publish();
    let wait_until = |done: &dyn Fn() -> bool, limit: Duration| {
        let deadline = Instant::now() + limit;
        while !done() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let seq = std::sync::atomic::Ordering::SeqCst;
    wait_until(&|| printed.load(seq) >= n, Duration::from_secs(60));
    let lost_then = lost.load(seq);
    wait_until(&|| lost.load(seq) >= lost_then + 2, Duration::from_secs(10));
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    unsafe { libc::kill(tail.id() as i32, libc::SIGINT) };
    let lines = reader.join().unwrap();
    let code = wait_with_timeout(&mut tail, Duration::from_secs(30)).code();
    Soak {
        transport: transport.to_string(),
        lines,
        code,
        stderr: stderr.join().unwrap(),
        connections: 0,
        elapsed: started.elapsed(),
    }
}
