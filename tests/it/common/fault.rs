//! A scriptable misbehaving server on std threads: the i-th connection it
//! accepts plays `scripts[i]` (the last script again past the end), after
//! its request head was read and recorded. Everything stops on drop.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One thing the server does on a connection, in order.
#[derive(Clone)]
pub enum Step {
    /// Never answer; keep the socket open until the server is dropped.
    Silent,
    /// Write these raw bytes (half a status line, say), then hang.
    Head(String),
    /// A whole HTTP/1.1 answer with Content-Length, then a clean close.
    Status(u16, &'static str, Vec<u8>),
    /// `200 text/event-stream`, close-delimited; Write steps carry the events.
    SseOpen,
    Write(Vec<u8>),
    /// Close cleanly: FIN, then read until the client closes too (closing
    /// with unread bytes would send an RST instead).
    End,
    /// Close with an RST (SO_LINGER 0).
    Reset,
    /// Read and discard, never write.
    Hang,
    /// Complete the WebSocket upgrade.
    WsAccept,
    /// An unmasked text frame.
    WsText(String),
    /// A close frame; wait for the client's, then FIN.
    WsClose(u16),
    /// Read frames, answer none (not even a ping).
    WsFreeze,
    /// Read this many client frames and record their payloads.
    WsReadFrames(usize),
}

pub type Script = Vec<Step>;

/// A request head as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    // Parsed for the rows to assert on; none reads them yet.
    #[allow(dead_code)]
    pub method: String,
    #[allow(dead_code)]
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    stopped: AtomicBool,
    accepted: AtomicUsize,
    /// Connections whose request head was read, or found missing.
    settled: AtomicUsize,
    requests: Mutex<Vec<Request>>,
    frames: Mutex<Vec<String>>,
}

pub struct FaultServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultServer {
    pub fn start(scripts: Vec<Script>) -> FaultServer {
        assert!(!scripts.is_empty(), "a fault server needs a script");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stopped.load(SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let i = s.accepted.fetch_add(1, SeqCst);
                let script = scripts[i.min(scripts.len() - 1)].clone();
                let s = s.clone();
                std::thread::spawn(move || serve(stream, script, s));
            }
        });
        FaultServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Every request head seen, in the order they were read.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.shared.accepted.load(SeqCst)
    }

    /// Payloads of the client frames read by `WsReadFrames`.
    pub fn frames(&self) -> Vec<String> {
        self.shared.frames.lock().unwrap().clone()
    }

    /// Wait (bounded) until `n` requests were seen; false if they never were.
    pub fn wait_for_requests(&self, n: usize) -> bool {
        poll_until(Duration::from_secs(10), || self.requests().len() >= n)
    }

    /// Wait (bounded) until every accepted connection's request head has
    /// been read or found missing, so counting requests races nothing.
    pub fn settle(&self) -> bool {
        let s = &self.shared;
        poll_until(Duration::from_secs(5), || {
            s.settled.load(SeqCst) >= s.accepted.load(SeqCst)
        })
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stopped.store(true, SeqCst);
        // Wake the blocked accept so its thread sees the flag.
        if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok()
            && let Some(t) = self.acceptor.take()
        {
            let _ = t.join();
        }
    }
}

fn poll_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Short socket timeouts: every blocking call wakes up to see whether the
/// server was dropped, so no connection thread outlives it by much.
const TICK: Duration = Duration::from_millis(50);

struct Conn {
    stream: TcpStream,
    /// Read but not consumed yet.
    buf: Vec<u8>,
    shared: Arc<Shared>,
}

fn serve(stream: TcpStream, script: Script, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(TICK));
    let _ = stream.set_write_timeout(Some(TICK));
    let mut c = Conn {
        stream,
        buf: Vec::new(),
        shared,
    };
    let head = c.head();
    if let Some(r) = &head {
        c.shared.requests.lock().unwrap().push(r.clone());
    }
    c.shared.settled.fetch_add(1, SeqCst);
    let Some(request) = head else { return };
    for step in script {
        match step {
            Step::Silent | Step::Hang | Step::WsFreeze => return c.hang(),
            Step::Head(raw) => {
                c.send(raw.as_bytes());
                return c.hang();
            }
            Step::Status(code, content_type, body) => {
                let mut head = format!("HTTP/1.1 {code} {}\r\n", reason(code));
                if !content_type.is_empty() {
                    head += &format!("Content-Type: {content_type}\r\n");
                }
                // 204 and 304 have no body, so no length either.
                if !matches!(code, 204 | 304) {
                    head += &format!("Content-Length: {}\r\n", body.len());
                }
                head += "Connection: close\r\n\r\n";
                if c.send(head.as_bytes()) {
                    c.send(&body);
                }
                return c.end();
            }
            Step::SseOpen => {
                c.send(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                      Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
                );
            }
            Step::Write(bytes) => {
                c.send(&bytes);
            }
            Step::End => return c.end(),
            Step::Reset => return c.reset(),
            Step::WsAccept => {
                let key = request.header("sec-websocket-key").unwrap_or("");
                let answer = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                    accept_key(key)
                );
                c.send(answer.as_bytes());
            }
            Step::WsText(text) => {
                c.send(&frame(0x1, text.as_bytes()));
            }
            Step::WsClose(code) => {
                c.send(&frame(0x8, &code.to_be_bytes()));
                while let Some((opcode, _)) = c.frame() {
                    if opcode == 0x8 {
                        break;
                    }
                }
                return c.end();
            }
            Step::WsReadFrames(n) => {
                for _ in 0..n {
                    let Some((_, payload)) = c.frame() else { break };
                    let text = String::from_utf8_lossy(&payload).to_string();
                    c.shared.frames.lock().unwrap().push(text);
                }
            }
        }
    }
    c.end()
}

impl Conn {
    /// Read more into `buf`; false at EOF, on an error, or once stopped.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        while !self.shared.stopped.load(SeqCst) {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if is_tick(&e) => {}
                Err(_) => return false,
            }
        }
        false
    }

    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// The request head; a body, if any, stays in `buf`.
    fn head(&mut self) -> Option<Request> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if !self.fill() {
                return None;
            }
        };
        let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
        let text = String::from_utf8_lossy(&raw);
        let mut lines = text.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Some(Request {
            method,
            path,
            headers,
        })
    }

    /// Write all of `bytes`; false if the client is gone or the server stopped.
    fn send(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            if self.shared.stopped.load(SeqCst) {
                return false;
            }
            match self.stream.write(bytes) {
                Ok(0) => return false,
                Ok(n) => bytes = &bytes[n..],
                Err(e) if is_tick(&e) => {}
                Err(_) => return false,
            }
        }
        true
    }

    fn hang(&mut self) {
        while self.fill() {
            self.buf.clear();
        }
    }

    fn end(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.hang();
    }

    fn reset(self) {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a socket we own, with a linger struct that
        // outlives the call and its exact size.
        unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        drop(self.stream);
    }

    /// One client frame, unmasked: (opcode, payload).
    fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let h = self.take(2)?;
        let len = match h[1] & 0x7f {
            126 => u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize,
            127 => u64::from_be_bytes(self.take(8)?.try_into().ok()?) as usize,
            n => n as usize,
        };
        let mask = if h[1] & 0x80 != 0 {
            self.take(4)?
        } else {
            vec![0; 4]
        };
        let mut payload = self.take(len)?;
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        Some((h[0] & 0x0f, payload))
    }
}

fn is_tick(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}

/// A final, unmasked server frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n <= 0xffff => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    base64(&sha1(
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    ))
}

/// SHA-1 (FIPS 180-4); only the handshake needs it, no crate for that.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (w, b) in w.iter_mut().zip(block.chunks(4)) {
            *w = u32::from_be_bytes(b.try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (o, x) in out.chunks_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut b = [0u8; 3];
        b[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}
