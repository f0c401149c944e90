//! What the benches share: knobs from the environment, medians, a
//! current-thread runtime, and timing a contender that prints many lines.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

/// A number from the environment, else `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Run `cmd` (stdin closed) and count what it prints as it goes: its exit
/// status, lines and bytes, and the seconds from spawn to exit.
pub fn count_output(cmd: &mut Command) -> (ExitStatus, usize, usize, f64) {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn contender");
    let mut out = child.stdout.take().expect("stdout");
    let mut buf = vec![0u8; 1 << 16];
    let (mut bytes, mut lines) = (0usize, 0usize);
    loop {
        match out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                bytes += k;
                lines += memchr::memchr_iter(b'\n', &buf[..k]).count();
            }
        }
    }
    let status = child.wait().expect("wait contender");
    (status, lines, bytes, started.elapsed().as_secs_f64())
}

/// Stdin in 256 KiB chunks, read on a thread of its own (as pubcat reads
/// it), for the minimal clients.
pub fn stdin_chunks() -> tokio::sync::mpsc::Receiver<bytes::Bytes> {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut buf = bytes::BytesMut::zeroed(256 * 1024);
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(k) => {
                    buf.truncate(k);
                    if tx.blocking_send(buf.freeze()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}
