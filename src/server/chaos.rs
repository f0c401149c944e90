//! `serve --chaos-*`: a broker that misbehaves on purpose, so that clients
//! can test their resume logic against it. All of it is off by default.
//!
//! - **Cuts** (`--chaos-cut MIN..MAX`): each connection, from its accept,
//!   is given a lifetime drawn uniformly in the range and a coin flip.
//!   Heads, a *reset*: when its time comes the socket gets `SO_LINGER` 0
//!   and every read and write fails, so its owner (hyper, a WebSocket
//!   task) drops it and the kernel sends an RST; the client sees
//!   "connection reset". Tails, a *clean* close, the protocol's own: the
//!   connection's [`Shutdown`](super::shutdown::Shutdown) fires as the
//!   server's does at shutdown, so a WebSocket (topic, STOMP, SockJS) gets
//!   its close frame (1001 `chaos: connection cut`), an SSE stream or an
//!   xhr-streaming answer ends, a held long-poll is answered at once, and
//!   HTTP closes the connection after the answer in progress.
//! - **Bare closes** (`--chaos-drop-close`): the clean half of the cuts
//!   becomes a bare TCP close (FIN, nothing written before it: no close
//!   frame, no end of the chunked SSE body, no answer to a held
//!   long-poll), and so do the closes the broker makes on its own
//!   (shutdown, a slow subscriber, a refusal): WebSocket ones go without
//!   their close frame, an SSE stream is cut without its last chunk.
//! - **Delays** (`--chaos-delay MIN..MAX`): each write of messages to a
//!   subscriber waits a time drawn in the range first: a WebSocket or
//!   STOMP message, an SSE event (a replayed backlog is one write), a
//!   long-poll answer. Order is kept: the wait is in the subscriber's own
//!   send loop.
//!
//! A connection's cut is drawn at its accept (`listen.rs`): resets and bare
//! closes are made by the accepted socket ([`super::socket::Socket`], below
//! TLS, so wss:// and https:// are cut the same way), clean closes by the
//! connection's `Shutdown`, which every request on it carries. `/_/stats`
//! counts the cuts made (`chaos`), and the log says so (a line a second at
//! most).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Context;
use std::time::Duration;

use serde::Serialize;

use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// `MIN..MAX`: a time drawn uniformly between the two, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub min: Duration,
    pub max: Duration,
}

impl Span {
    /// A time in the span, from the system's random source (the middle if
    /// it has none to give).
    pub(super) fn draw(&self) -> Duration {
        let width = self.max.saturating_sub(self.min).as_nanos();
        let Some(r) = random_u64() else {
            return self.min + self.max.saturating_sub(self.min) / 2;
        };
        let offset = u64::try_from(u128::from(r) % (width + 1)).unwrap_or(0);
        self.min + Duration::from_nanos(offset)
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (min, max) = (
            humantime::format_duration(self.min),
            humantime::format_duration(self.max),
        );
        if self.min == self.max {
            write!(f, "{min}")
        } else {
            write!(f, "{min}..{max}")
        }
    }
}

fn random_u64() -> Option<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// The chaos asked for (`serve --chaos-*`); the default is none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chaos {
    /// Each connection's lifetime.
    pub cut: Option<Span>,
    /// Before each write of messages to a subscriber.
    pub delay: Option<Span>,
    /// Closes are bare TCP closes, without the protocol's close.
    pub drop_close: bool,
}

impl Chaos {
    /// What is in effect, for the startup banner; None without chaos.
    pub fn banner(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(cut) = self.cut {
            let other = if self.drop_close {
                "a bare close"
            } else {
                "a clean close"
            };
            parts.push(format!(
                "cut each connection after {cut} (half a reset, half {other})"
            ));
        }
        if let Some(delay) = self.delay {
            parts.push(format!("delay each delivery {delay}"));
        }
        if self.drop_close {
            parts.push("close without close frames".to_string());
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// One connection's fate, drawn at its accept: None when it is not
    /// cut.
    pub(super) fn draw(&self) -> Option<Cut> {
        let span = self.cut?;
        let at = Instant::now() + span.draw();
        let how = if random_u64().unwrap_or(0) & 1 == 1 {
            How::Reset
        } else if self.drop_close {
            How::Bare
        } else {
            How::Clean
        };
        Some(Cut { at, how })
    }

    /// Wait before a write to a subscriber (at once without `--chaos-delay`).
    pub(super) async fn delay(&self) {
        if let Some(span) = self.delay {
            tokio::time::sleep(span.draw()).await;
        }
    }

    pub(super) fn delays(&self) -> bool {
        self.delay.is_some()
    }
}

/// When and how one connection is cut.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cut {
    pub(super) at: Instant,
    pub(super) how: How,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum How {
    /// An RST: `SO_LINGER` 0, then the socket is dropped.
    Reset,
    /// The protocol's own close, through the connection's `Shutdown`.
    Clean,
    /// A FIN with nothing before it (`--chaos-drop-close`).
    Bare,
}

impl Cut {
    /// The instant the connection's `Shutdown` ends it at, for a clean cut
    /// (the others are [`Armed`]'s to make).
    pub(super) fn clean_at(&self) -> Option<Instant> {
        (self.how == How::Clean).then_some(self.at)
    }
}

/// The cuts made so far, for `/_/stats` and the log (a line a second at
/// most, unless quiet).
#[derive(Debug, Default)]
pub(super) struct Cuts {
    reset: AtomicU64,
    clean: AtomicU64,
    bare: AtomicU64,
    quiet: bool,
    logged: std::sync::Mutex<Option<Instant>>,
}

#[derive(Serialize)]
pub(super) struct CutStats {
    cuts_reset: u64,
    cuts_clean: u64,
    cuts_bare: u64,
}

impl Cuts {
    pub(super) fn new(quiet: bool) -> Cuts {
        Cuts {
            quiet,
            ..Cuts::default()
        }
    }

    fn count(&self, how: How) {
        let n = match how {
            How::Reset => &self.reset,
            How::Clean => &self.clean,
            How::Bare => &self.bare,
        };
        n.fetch_add(1, Ordering::Relaxed);
        if self.quiet {
            return;
        }
        let mut logged = self
            .logged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if logged.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *logged = Some(Instant::now());
        let s = self.stats();
        crate::log::line(format_args!(
            "pubcat: chaos: {} connection(s) cut so far ({} reset, {} clean, {} bare)",
            s.cuts_reset + s.cuts_clean + s.cuts_bare,
            s.cuts_reset,
            s.cuts_clean,
            s.cuts_bare
        ));
    }

    pub(super) fn stats(&self) -> CutStats {
        CutStats {
            cuts_reset: self.reset.load(Ordering::Relaxed),
            cuts_clean: self.clean.load(Ordering::Relaxed),
            cuts_bare: self.bare.load(Ordering::Relaxed),
        }
    }
}

/// One connection's reset or bare close, made by its
/// [`Socket`](super::socket::Socket) when the time comes: `SO_LINGER` 0
/// (reset) or a FIN (bare), then every read and write fails, so whoever
/// owns the socket (hyper, TLS, a WebSocket task) drops it. The timer is
/// polled with reads, which every owner has pending while a connection is
/// open (hyper's idle and mid-answer reads, the WebSocket tasks' readers).
/// A clean cut is only counted here, when the connection ends after its
/// time.
pub(super) struct Armed {
    cut: Cut,
    /// For resets and bare closes.
    timer: Option<Pin<Box<Sleep>>>,
    made: bool,
    cuts: std::sync::Arc<Cuts>,
}

impl Armed {
    pub(super) fn new(cut: Cut, cuts: &std::sync::Arc<Cuts>) -> Armed {
        Armed {
            cut,
            timer: (cut.how != How::Clean).then(|| Box::pin(tokio::time::sleep_until(cut.at))),
            made: false,
            cuts: std::sync::Arc::clone(cuts),
        }
    }

    /// The error every use of `tcp` gets once the cut is made. Reads wait
    /// for its time (`wait`: the timer wakes the reader); writes only look
    /// at the clock, so the timer keeps the reader's waker.
    pub(super) fn error(
        &mut self,
        tcp: &mut TcpStream,
        cx: &mut Context<'_>,
        wait: bool,
    ) -> Option<io::Error> {
        let timer = self.timer.as_mut()?;
        if !self.made {
            let due = if wait {
                timer.as_mut().poll(cx).is_ready()
            } else {
                Instant::now() >= self.cut.at
            };
            if !due {
                return None;
            }
            self.made = true;
            self.cuts.count(self.cut.how);
            if self.cut.how == How::Reset {
                let _ = tcp.set_zero_linger();
            } else {
                // A FIN now (shutdown(2) of the sending side: ready at
                // once); the close at the owner's drop sends nothing more.
                let _ = Pin::new(tcp).poll_shutdown(cx);
            }
        }
        Some(match self.cut.how {
            How::Reset => io::Error::new(io::ErrorKind::ConnectionReset, "chaos: connection reset"),
            _ => io::Error::new(io::ErrorKind::BrokenPipe, "chaos: connection dropped"),
        })
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        if self.cut.how == How::Clean && Instant::now() >= self.cut.at {
            self.cuts.count(How::Clean);
        }
    }
}
