//! What the benches share: knobs from the environment, medians, the order
//! contenders take turns in, a current-thread runtime, and timing a
//! contender that prints many lines (its wall-clock time and its CPU time).
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

/// A number from the environment, else `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// PUBCAT_BENCH_BASELINE: an older pubcat binary to run as one more
/// contender, "baseline", with the same command lines as the current one.
/// None when unset or empty. A path that is not a file ends the bench before
/// it starts: otherwise every baseline run would fail at spawn, after the
/// others had taken minutes.
pub fn baseline() -> Option<PathBuf> {
    let path = std::env::var_os("PUBCAT_BENCH_BASELINE").filter(|p| !p.is_empty())?;
    let path = PathBuf::from(path);
    if !path.is_file() {
        // cargo runs a bench from the package root, so a relative path may
        // not be where the caller meant.
        eprintln!(
            "PUBCAT_BENCH_BASELINE={}: not a file (give an absolute path)",
            path.display()
        );
        std::process::exit(2);
    }
    Some(path)
}

/// `items` rotated `run` places: over as many runs as there are items, each
/// goes first (and last) once, so none always gets the warm cache or the
/// busier moment.
pub fn rotated<T>(mut items: Vec<T>, run: usize) -> Vec<T> {
    if !items.is_empty() {
        let by = run % items.len();
        items.rotate_left(by);
    }
    items
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

/// What [`count_output`] saw of one contender.
pub struct Counted {
    pub status: ExitStatus,
    pub lines: usize,
    pub bytes: usize,
    /// From spawn to exit.
    pub secs: f64,
    /// The CPU time (user and system) the contender used: a rate measured
    /// against a server that is itself near its limit hides how much work
    /// each reader does, and this does not.
    pub cpu_secs: f64,
}

impl Counted {
    /// Exited well after printing exactly `n` lines of `line_len` bytes
    /// (the newline included).
    pub fn is_complete(&self, n: usize, line_len: usize) -> bool {
        self.status.success() && self.lines == n && self.bytes == n * line_len
    }
}

impl std::fmt::Display for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Counted {
            status,
            lines,
            bytes,
            ..
        } = self;
        write!(f, "exit {status}, {lines} lines, {bytes} bytes")
    }
}

/// Run `cmd` (stdin closed) and count what it prints as it goes.
pub fn count_output(cmd: &mut Command) -> Counted {
    count_output_with(cmd, Stdio::null())
}

/// [`count_output`], with `stdin` as its standard input.
pub fn count_output_with(cmd: &mut Command, stdin: Stdio) -> Counted {
    let cpu_before = children_cpu_secs();
    let started = Instant::now();
    let mut child = cmd
        .stdin(stdin)
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
    Counted {
        status,
        lines,
        bytes,
        secs: started.elapsed().as_secs_f64(),
        cpu_secs: children_cpu_secs() - cpu_before,
    }
}

/// User and system CPU seconds of every child waited for so far: the
/// difference across one wait is that child's.
fn children_cpu_secs() -> f64 {
    cpu_secs(libc::RUSAGE_CHILDREN)
}

/// User and system CPU seconds this process has used so far.
pub fn own_cpu_secs() -> f64 {
    cpu_secs(libc::RUSAGE_SELF)
}

fn cpu_secs(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(who, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
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
