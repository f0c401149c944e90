//! Every connection the broker accepts, as its owner (hyper, TLS, a
//! WebSocket task) reads and writes it:
//!
//! - it holds the connection's place in the broker's count ([`Slot`]),
//!   given back when the socket goes, whoever owns it by then;
//! - **a client that takes nothing is gone**: a write that cannot make
//!   progress for [`WRITE_STALL`] (the client's receive window stayed
//!   shut) fails, and so does every use after it, so the owner drops the
//!   connection. This is the one bound on writing to a client that
//!   stopped reading, whatever is being written: an SSE stream or an
//!   xhr-streaming answer the broker stopped feeding (it dropped the
//!   subscriber as too slow but cannot write the overflow event), a large
//!   long-poll or replay answer, a WebSocket frame. A client that reads
//!   slowly makes progress and is not cut;
//! - it makes its `--chaos-cut` reset or bare close ([`chaos::Armed`]).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::chaos;
use super::listen::Slot;

/// How long a write to a client may wait without any of it being taken.
/// The same as the grace a slow WebSocket subscriber gets to read its
/// close ([`super::ws::SLOW_CLOSE_GRACE`]).
pub(super) const WRITE_STALL: Duration = super::ws::SLOW_CLOSE_GRACE;

pub(super) struct Socket {
    tcp: TcpStream,
    cut: Option<chaos::Armed>,
    /// Fires [`WRITE_STALL`] after a write first found the socket full
    /// (`stalled_since`); any progress disarms it.
    stall: Pin<Box<Sleep>>,
    stalled_since: Option<Instant>,
    /// Past the bound: every use fails from then on.
    gone: bool,
    _slot: Slot,
}

/// The error a stalled write ends with; [`is_stalled`] finds it in the
/// owner's error.
#[derive(Debug)]
pub(super) struct Stalled;

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the client took nothing for {} s", WRITE_STALL.as_secs())
    }
}

impl std::error::Error for Stalled {}

fn stalled() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, Stalled)
}

/// Whether `e` (or an error it came from) is a write that stalled.
pub(super) fn is_stalled(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.get_ref().is_some_and(|inner| inner.is::<Stalled>())
        {
            return true;
        }
        next = e.source();
    }
    false
}

impl Socket {
    pub(super) fn new(
        tcp: TcpStream,
        slot: Slot,
        cut: Option<chaos::Cut>,
        cuts: &std::sync::Arc<chaos::Cuts>,
    ) -> Socket {
        Socket {
            tcp,
            cut: cut.map(|cut| chaos::Armed::new(cut, cuts)),
            stall: Box::pin(tokio::time::sleep(Duration::ZERO)),
            stalled_since: None,
            gone: false,
            _slot: slot,
        }
    }

    /// Why every use fails now, if it does (a chaos cut, or a stall).
    fn failed(&mut self, cx: &mut Context<'_>, read: bool) -> Option<io::Error> {
        if self.gone {
            return Some(stalled());
        }
        let armed = self.cut.as_mut()?;
        armed.error(&mut self.tcp, cx, read)
    }

    /// A write's outcome, bounded: pending for [`WRITE_STALL`] without
    /// progress, it fails.
    fn bound<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.stalled_since = None;
            return r;
        }
        if self.stalled_since.is_none() {
            let now = Instant::now();
            self.stalled_since = Some(now);
            self.stall.as_mut().reset(now + WRITE_STALL);
        }
        if self.stall.as_mut().poll(cx).is_ready() {
            self.gone = true;
            return Poll::Ready(Err(stalled()));
        }
        Poll::Pending
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.failed(cx, true) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.failed(cx, false) {
            return Poll::Ready(Err(e));
        }
        let r = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.bound(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.failed(cx, false) {
            return Poll::Ready(Err(e));
        }
        let r = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.bound(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.failed(cx, false) {
            return Poll::Ready(Err(e));
        }
        let r = Pin::new(&mut self.tcp).poll_flush(cx);
        self.bound(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.failed(cx, false) {
            return Poll::Ready(Err(e));
        }
        let r = Pin::new(&mut self.tcp).poll_shutdown(cx);
        self.bound(cx, r)
    }
}
