//! Where connections come in: the listening sockets, the accept loop, and
//! the limits a connection meets before any request is read.
//!
//! - **Every address a name resolves to.** `--listen localhost:7878` binds
//!   127.0.0.1 and ::1 (whatever `localhost` resolves to), on one port, so
//!   a browser or tool that tries `::1` first is served too. An address
//!   the machine does not have (IPv6 switched off) is skipped while
//!   another one is bound.
//! - **A request must arrive in time.** A connection has `request_timeout`
//!   to send a whole request head, from when it opens and again after
//!   each answer (hyper's header-read timeout): a client that connects and
//!   says nothing, sends headers a byte at a time (slowloris) or keeps an
//!   idle keep-alive connection is closed after it. A request body that
//!   stalls that long is answered 408 ([`super::publish::read_body`]).
//!   Streams (WebSocket, SSE, a held long-poll) are not requests in
//!   progress and are not cut.
//! - **Connections are counted** per client address and in all, from
//!   accept to close, through a WebSocket upgrade too (the count travels
//!   with the socket: [`Socket`] holds its [`Slot`]). Past `--max-connections-per-ip` for
//!   one address, or past the open-file limit less a reserve in all, a new
//!   connection gets a one-line `503` and is closed at once: one client
//!   cannot take every file descriptor, and the broker keeps answering.
//! - **A client that takes nothing is gone**: a write to it that makes no
//!   progress for [`socket::WRITE_STALL`] (10 s) fails and the connection
//!   is dropped, whatever was being written (see [`super::socket`]).
//! - **TLS** (`--tls-cert`/`--tls-key` or `--tls-self-signed`): every
//!   connection, wss:// and https:// on the one port; the handshake is
//!   bounded by the request timeout too.
//! - **Chaos** (`serve --chaos-cut`): each connection is drawn its cut at
//!   accept and its [`Socket`] makes it, below TLS; see
//!   [`chaos`].
//! - **Graceful shutdown**: no more accepts; every HTTP connection
//!   finishes the request in progress and closes (the WebSockets are
//!   closed by their own tasks, see [`super::shutdown`]).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tower_service::Service;

use super::App;
use super::shutdown::Shutdown;
use super::socket::{self, Socket};

/// Bind every address in `addrs` on one port (port 0: one free on all of
/// them), each with a backlog of 1024: bursts of connections do not stall
/// on SYN retransmits as with the default 128 (performance.md, mistake 4).
/// An address this machine does not have is skipped when another one is
/// bound.
pub(super) fn bind_all(addrs: &[SocketAddr]) -> io::Result<Vec<TcpListener>> {
    let Some(first) = addrs.first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no address to listen on",
        ));
    };
    // A free port on the first address may be taken on another one: try
    // a few ports before giving up.
    let mut tries = if first.port() == 0 && addrs.len() > 1 {
        8
    } else {
        1
    };
    loop {
        tries -= 1;
        match bind_on_one_port(addrs) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && tries > 0 => continue,
            done => return done,
        }
    }
}

fn bind_on_one_port(addrs: &[SocketAddr]) -> io::Result<Vec<TcpListener>> {
    let mut listeners: Vec<TcpListener> = Vec::with_capacity(addrs.len());
    let mut port = addrs[0].port();
    let mut skipped = None;
    for addr in addrs {
        let mut addr = *addr;
        if addr.port() == 0 {
            addr.set_port(port);
        }
        match listen_on(addr) {
            Ok(l) => {
                port = l.local_addr()?.port();
                listeners.push(l);
            }
            // IPv6 (or an address) this machine does not have.
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable || is_unsupported(&e) => {
                skipped = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    match (listeners.is_empty(), skipped) {
        (true, Some(e)) => Err(e),
        _ => Ok(listeners),
    }
}

/// EAFNOSUPPORT: the address family is switched off.
fn is_unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EAFNOSUPPORT)
}

fn listen_on(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // So a restarted `pubcat serve` can take its port back while old
    // connections sit in TIME_WAIT. Not on Windows, where SO_REUSEADDR
    // lets a second server steal a port in use.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// The connection counts, shared by every listener of a broker.
pub(super) struct Gate {
    /// Per client address (0: no cap).
    per_ip: usize,
    /// In all (0: no cap).
    total: usize,
    open: Mutex<Open>,
    refused: AtomicU64,
    /// When a refusal was last logged: at most one line a second.
    last_log: Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Open {
    all: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
enum Full {
    Address(IpAddr, usize),
    Total(usize),
}

impl Gate {
    pub(super) fn new(per_ip: usize, total: usize) -> Arc<Gate> {
        Arc::new(Gate {
            per_ip,
            total,
            open: Mutex::new(Open::default()),
            refused: AtomicU64::new(0),
            last_log: Mutex::new(None),
        })
    }

    /// Connections open now.
    pub(super) fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).all
    }

    /// Connections refused so far.
    pub(super) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn admit(self: &Arc<Gate>, ip: IpAddr) -> Result<Slot, Full> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if self.total > 0 && open.all >= self.total {
            return Err(Full::Total(self.total));
        }
        let mine = open.by_ip.entry(ip).or_insert(0);
        if self.per_ip > 0 && *mine >= self.per_ip {
            return Err(Full::Address(ip, self.per_ip));
        }
        *mine += 1;
        open.all += 1;
        Ok(Slot {
            gate: Arc::clone(self),
            ip,
        })
    }
}

/// One admitted connection's place in the [`Gate`], given back on drop.
pub(super) struct Slot {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .gate
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.all -= 1;
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

/// Most bytes written to a connection and not yet sent that its socket
/// holds (see [`limit_unsent`]): slack for a client that pauses (a `pubcat
/// sub` whose stdout is not read for a while: 100,000 short lines are
/// ~800 KB of frames, and 128 KiB dropped it), a quarter of what Linux
/// gave a client that stopped reading for good.
const UNSENT: usize = 1024 * 1024;

/// Keep at most [`UNSENT`] bytes not yet sent in a connection's socket
/// (Linux's `TCP_NOTSENT_LOWAT`; elsewhere nothing). Linux grows a send
/// buffer to 4 MB, and a subscriber that stopped reading took that much
/// before it stalled (measured: ~38,000 messages of 100 bytes, each framed
/// and copied for nothing; eight such subscribers cost a publish more
/// than the wait for them did). Bytes in flight do not count, so a fast
/// client far away is not slowed. Failing to set it costs only that.
fn limit_unsent(tcp: &tokio::net::TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        let value = UNSENT as libc::c_int;
        // SAFETY: setsockopt only reads the `c_int` given, of the size given,
        // on a socket this stream owns.
        unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NOTSENT_LOWAT,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = tcp;
}

/// Accept on `listener` until shutdown, serve each connection with
/// `router`, then wait for the HTTP connections to finish.
pub(super) async fn accept_loop(listener: TcpListener, router: Router, gate: Arc<Gate>, app: App) {
    let mut tasks = JoinSet::new();
    let mut shutdown = app.0.shutdown.clone();
    let tls = app.0.cfg.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => match gate.admit(peer.ip()) {
                    Ok(slot) => {
                        // Nagle would hold small frames back ~40 ms
                        // (performance.md, mistake 1). Failing to set it
                        // only costs latency.
                        let _ = tcp.set_nodelay(true);
                        limit_unsent(&tcp);
                        let (router, app) = (router.clone(), app.clone());
                        // `serve --chaos-cut`: this connection's fate, from
                        // now (the TLS handshake included).
                        let cut = app.0.cfg.chaos.draw();
                        // The socket holds the slot from here to its close,
                        // whoever owns it (hyper, TLS, a WebSocket task).
                        let tcp = Socket::new(tcp, slot, cut, &app.0.cuts);
                        let ends = app.0.shutdown.until(cut.and_then(|c| c.clean_at()));
                        match tls.clone() {
                            None => {
                                tasks.spawn(connection(tcp, peer, router, app, ends));
                            }
                            Some(tls) => {
                                tasks.spawn(async move {
                                    if let Some(tls) = handshake(&tls, tcp, peer, &app).await {
                                        connection(tls, peer, router, app, ends).await;
                                    }
                                });
                            }
                        }
                    }
                    Err(full) => {
                        refuse(&gate, &app, tcp, full, &mut tasks);
                    }
                },
                // Out of file descriptors (or a connection that died in
                // the backlog): wait a moment rather than spin.
                Err(e) => {
                    app.log(format_args!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = shutdown.recv() => break,
        }
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
}

/// The TLS handshake, within the request timeout (a client that stalls in
/// it is a slowloris too); a failure is logged (a client that does not
/// trust the certificate says so here) and the connection dropped.
async fn handshake(
    tls: &tokio_rustls::TlsAcceptor,
    tcp: Socket,
    peer: SocketAddr,
    app: &App,
) -> Option<tokio_rustls::server::TlsStream<Socket>> {
    match tokio::time::timeout(app.0.cfg.request_timeout, tls.accept(tcp)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            app.log_conn(format_args!("TLS handshake with {peer} failed: {e}"));
            None
        }
        Err(_) => {
            app.log_conn(format_args!("TLS handshake with {peer} timed out"));
            None
        }
    }
}

/// Serve one HTTP connection (and hand over its upgrade, if it asks for
/// one) until it closes or `ends` (the broker's shutdown, or this
/// connection's clean chaos cut). Each request carries `ends`, so what
/// serves it (a stream, a held long-poll, a WebSocket) ends with it.
async fn connection<I>(io: I, peer: SocketAddr, router: Router, app: App, ends: Shutdown)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut shutdown = ends.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(ends.clone());
        router.clone().call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(app.0.cfg.request_timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        _ = shutdown.recv() => {
            conn.as_mut().graceful_shutdown();
            // An answer to a client that stopped reading (an SSE stream)
            // would never finish writing: it gets the same grace as a
            // WebSocket's close.
            match tokio::time::timeout(super::shutdown::GRACE, conn).await {
                Ok(ended) => ended,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = ended
        && socket::is_stalled(&e)
    {
        app.log(format_args!(
            "connection from {peer} closed: {}",
            socket::Stalled
        ));
    }
}

/// Answer a connection over a cap with a one-line `503` and close it.
fn refuse(gate: &Gate, app: &App, mut tcp: TcpStream, full: Full, tasks: &mut JoinSet<()>) {
    gate.refused.fetch_add(1, Ordering::Relaxed);
    let why = match full {
        Full::Address(ip, cap) => format!(
            "too many connections from {ip}: {cap} are open (serve --max-connections-per-ip)"
        ),
        Full::Total(cap) => {
            format!("too many connections: {cap} are open (the open-file limit allows no more)")
        }
    };
    {
        let mut last = gate.last_log.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            *last = Some(Instant::now());
            app.log(format_args!(
                "refused a connection: {why} ({} refused so far)",
                gate.refused()
            ));
        }
    }
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{why}\n",
        why.len() + 1
    );
    tasks.spawn(async move {
        // Bounded: a client that does not read is not waited for. Then
        // read what it sent, briefly, so the close is a FIN and not a
        // reset that could destroy the answer before it is read.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            tcp.write_all(answer.as_bytes()).await?;
            tcp.shutdown().await?;
            let mut sink = [0u8; 1024];
            while tokio::io::AsyncReadExt::read(&mut tcp, &mut sink).await? > 0 {}
            io::Result::Ok(())
        })
        .await;
    });
}
