//! The server side of SockJS at `/_/sockjs`, carrying STOMP (each SockJS
//! message is a STOMP frame, as Spring's `.withSockJS()` endpoints do).
//!
//! | request | answer |
//! |---|---|
//! | `GET /_/sockjs/info` | `{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":N}` |
//! | `GET /_/sockjs/{server}/{session}/websocket` | framed WebSocket: `o`, then `a[...]`, `h`, `c[...]` messages |
//! | `POST …/xhr` | polling: one frame per answer (`o`, `a[...]`, `h` after 25 s idle, `c[...]`) |
//! | `POST …/xhr_streaming` | a prelude of 2048 `h`, then frames as they come; ended after 128 KiB, the client asks again |
//! | `POST …/xhr_send` | a JSON array of strings for the session: `204`; `404` for an unknown session, `500` for broken JSON |
//! | `GET /_/sockjs/websocket` | plain WebSocket, no SockJS framing: the same as `/_/stomp` |
//! | `OPTIONS` on info and the xhr paths | CORS preflight, `204` |
//!
//! An xhr session is created by its first receiving request and lives as
//! long as some receiver comes back within 5 s; only one receiver at a
//! time (a second gets `c[2010,"Another connection still open"]`). When
//! the STOMP connection ends, its close frame (`c[3000,"Go away!"]`) is the
//! answer to every later request until the session expires. Heartbeats
//! (`h`) after `--sockjs-heartbeat` (25 s) of silence. eventsource, htmlfile and jsonp are not
//! served (sockjs-client falls back past them).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::OwnedMutexGuard;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::auth::{Rights, rights_of};
use super::broker::lock;
use super::peer::{Channel, GO_AWAY, Outbound, Peer};
use super::{App, OpenGuard, text};
use crate::codec::sockjs::{Batch, Frame, decode_client, encode};

/// How long a session without a receiver lives.
const DISCONNECT_DELAY: Duration = Duration::from_secs(5);
/// Bytes of frames after which an xhr_streaming answer ends.
const STREAM_LIMIT: usize = 128 * 1024;

const STILL_OPEN: (u16, &str) = (2010, "Another connection still open");

/// The broker's xhr sessions, by session id.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
}

struct Session {
    inbound: mpsc::Sender<String>,
    outbound: Arc<tokio::sync::Mutex<mpsc::Receiver<Outbound>>>,
    /// The close frame, once the STOMP connection ended.
    closed: Mutex<Option<(u16, String)>>,
    attached: AtomicBool,
    detached_at: Mutex<Instant>,
}

impl Session {
    fn closed(&self) -> Option<(u16, String)> {
        lock(&self.closed).clone()
    }

    fn set_closed(&self, close: (u16, String)) {
        lock(&self.closed).get_or_insert(close);
    }
}

/// A receiver holds its session for as long as it lives.
struct Attached(Arc<Session>);

impl Attached {
    fn new(session: &Arc<Session>) -> Attached {
        session.attached.store(true, Ordering::SeqCst);
        Attached(Arc::clone(session))
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        *lock(&self.0.detached_at) = Instant::now();
        self.0.attached.store(false, Ordering::SeqCst);
    }
}

/// Everything under `/_/sockjs`.
pub(crate) async fn route(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let path = req
        .uri()
        .path()
        .strip_prefix("/_/sockjs")
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let parts: Vec<&str> = path.split('/').collect();
    let origin = req.headers().get(header::ORIGIN).cloned();
    let method = req.method().clone();
    // The request's token, if it has one, authenticates the session.
    let rights = rights_of(&req);
    // A receiving request ends with its connection (a chaos cut).
    let mut ends = super::ends_of(&app, &req);
    let mut response = match (&method, parts.as_slice()) {
        (&Method::GET, [""]) => text(StatusCode::OK, "Welcome to SockJS!\n"),
        (&Method::GET, ["info"]) => info(),
        (&Method::OPTIONS, ["info"]) => preflight("OPTIONS, GET"),
        (&Method::GET, ["websocket"]) => {
            super::stomp_upgrade(app, peer, req, "/_/sockjs/websocket")
        }
        (_, [server, session, transport]) if valid_id(server) && valid_id(session) => {
            let session = session.to_string();
            match (&method, *transport) {
                (&Method::GET, "websocket") => framed_websocket(app, peer, req, &session, rights),
                (&Method::POST, "xhr") => {
                    tokio::select! {
                        answer = xhr(app, peer, &session, rights) => answer,
                        _ = ends.recv() => javascript("h\n"),
                    }
                }
                (&Method::POST, "xhr_streaming") => {
                    xhr_streaming(app, peer, &session, rights, ends)
                }
                (&Method::POST, "xhr_send") => xhr_send(app, &session, req).await,
                (&Method::OPTIONS, "xhr" | "xhr_streaming" | "xhr_send") => {
                    preflight("OPTIONS, POST")
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    };
    cors(response.headers_mut(), origin);
    response
}

/// Server and session ids: not empty, no dots (the SockJS spec's rule).
fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.contains('.')
}

fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found: SockJS sessions are /_/sockjs/{server}/{session}/{websocket|xhr|xhr_streaming|xhr_send}\n",
    )
}

fn cors(headers: &mut HeaderMap, origin: Option<HeaderValue>) {
    match origin.filter(|o| o.as_bytes() != b"null") {
        Some(origin) => {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        None => {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

fn no_cache(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, no-transform, must-revalidate, max-age=0"),
    );
}

/// The CORS preflight answer, cacheable for a year as SockJS servers do.
fn preflight(methods: &'static str) -> Response {
    let mut response = super::origin::preflight(methods);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("31536000"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000"),
    );
    response
}

fn info() -> Response {
    let mut entropy = [0u8; 4];
    // Only a cache-buster for old browsers: any value will do.
    let _ = getrandom::fill(&mut entropy);
    let body = format!(
        "{{\"websocket\":true,\"cookie_needed\":false,\"origins\":[\"*:*\"],\"entropy\":{}}}",
        u32::from_le_bytes(entropy)
    );
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        )],
        body,
    )
        .into_response();
    no_cache(response.headers_mut());
    response
}

/// An xhr answer: frames, one per line.
fn javascript(body: impl Into<Body>) -> Response {
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=UTF-8"),
        )],
        body.into(),
    )
        .into_response();
    no_cache(response.headers_mut());
    response
}

fn close_frame(code: u16, reason: &str) -> String {
    let mut out = String::new();
    encode(
        &Frame::Close {
            code,
            reason: reason.to_string(),
        },
        &mut out,
    );
    out
}

/// The session with this id, and whether it was just created (then a
/// STOMP connection is started for it, with `rights`, and the answer is
/// `o`).
fn session(app: &App, peer: SocketAddr, id: &str, rights: Option<Rights>) -> (Arc<Session>, bool) {
    let mut map = lock(&app.0.sockjs.map);
    if let Some(s) = map.get(id) {
        return (Arc::clone(s), false);
    }
    let (channel, in_tx, out_rx) = Channel::new();
    let session = Arc::new(Session {
        inbound: in_tx,
        outbound: Arc::new(tokio::sync::Mutex::new(out_rx)),
        closed: Mutex::new(None),
        attached: AtomicBool::new(false),
        detached_at: Mutex::new(Instant::now()),
    });
    map.insert(id.to_string(), Arc::clone(&session));
    drop(map);
    let who = format!("{peer} /_/sockjs session {id}");
    let open = OpenGuard::new(&app.0.open, super::Transport::SockJs);
    tokio::spawn(super::run_stomp(
        app.clone(),
        Peer::SockJs(channel),
        who,
        open,
        rights,
        // The session outlives its connections: only shutdown ends it.
        app.0.shutdown.clone(),
    ));
    tokio::spawn(expire(app.clone(), id.to_string(), Arc::clone(&session)));
    (session, true)
}

/// Forget the session once it has had no receiver for the disconnect
/// delay; that ends its STOMP connection (unacknowledged queue messages go
/// back to the queue).
async fn expire(app: App, id: String, session: Arc<Session>) {
    loop {
        let wait = if session.attached.load(Ordering::SeqCst) {
            DISCONNECT_DELAY
        } else {
            let idle = lock(&session.detached_at).elapsed();
            if idle >= DISCONNECT_DELAY {
                lock(&app.0.sockjs.map).remove(&id);
                return;
            }
            DISCONNECT_DELAY - idle
        };
        tokio::time::sleep(wait).await;
    }
}

/// Messages (and a close) from `first` on, as many as are queued up to
/// `limit` bytes.
fn collect(
    first: Option<Outbound>,
    rx: &mut mpsc::Receiver<Outbound>,
    limit: usize,
) -> (Batch, Option<(u16, String)>) {
    let mut batch = Batch::default();
    let mut next = first;
    loop {
        match next {
            // The STOMP connection is gone without a word: its session too.
            None => return (batch, Some((GO_AWAY.0, GO_AWAY.1.to_string()))),
            Some(Outbound::Close(code, reason)) => return (batch, Some((code, reason))),
            Some(Outbound::Message(m)) => batch.push(&m),
        }
        if batch.size() >= limit {
            return (batch, None);
        }
        next = match rx.try_recv() {
            Ok(o) => Some(o),
            Err(TryRecvError::Empty) => return (batch, None),
            Err(TryRecvError::Disconnected) => None,
        };
    }
}

/// `a[...]` for the batch (if any) then `c[...]` (if `with_close`), each
/// a line.
fn frames(batch: &mut Batch, close: Option<&(u16, String)>, with_close: bool) -> String {
    let mut out = String::new();
    if !batch.is_empty() {
        out.push('a');
        out.push_str(&batch.take());
        out.push('\n');
    }
    if let Some((code, reason)) = close.filter(|_| with_close || out.is_empty()) {
        out.push_str(&close_frame(*code, reason));
        out.push('\n');
    }
    out
}

async fn xhr(app: App, peer: SocketAddr, id: &str, rights: Option<Rights>) -> Response {
    let (session, created) = session(&app, peer, id, rights);
    if created {
        return javascript("o\n");
    }
    if let Some((code, reason)) = session.closed() {
        return javascript(close_frame(code, &reason) + "\n");
    }
    let Ok(mut rx) = Arc::clone(&session.outbound).try_lock_owned() else {
        return javascript(close_frame(STILL_OPEN.0, STILL_OPEN.1) + "\n");
    };
    let _attached = Attached::new(&session);
    // Polling answers one frame at a time: a close after messages waits
    // for the next request, which finds it in `closed`.
    match next_frames(&mut rx, &session, app.0.cfg.sockjs_heartbeat, false).await {
        Some((out, _)) => javascript(out),
        None => javascript("h\n"),
    }
}

/// Wait for the session's next output: the frames to write (a close
/// among them only `with_close`, or alone) and whether the session
/// closed; None when `heartbeat` passed first.
async fn next_frames(
    rx: &mut mpsc::Receiver<Outbound>,
    session: &Session,
    heartbeat: Duration,
    with_close: bool,
) -> Option<(String, bool)> {
    let first = tokio::select! {
        first = rx.recv() => first,
        _ = tokio::time::sleep(heartbeat) => return None,
    };
    let (mut batch, close) = collect(first, rx, STREAM_LIMIT);
    if let Some(c) = &close {
        session.set_closed(c.clone());
    }
    Some((
        frames(&mut batch, close.as_ref(), with_close),
        close.is_some(),
    ))
}

struct Streaming {
    rx: OwnedMutexGuard<mpsc::Receiver<Outbound>>,
    heartbeat: Duration,
    session: Arc<Session>,
    _attached: Attached,
    head: Option<String>,
    sent: usize,
    done: bool,
    /// A chaos cut (or shutdown) ends the answer; the client asks again.
    ends: super::shutdown::Shutdown,
}

fn xhr_streaming(
    app: App,
    peer: SocketAddr,
    id: &str,
    rights: Option<Rights>,
    ends: super::shutdown::Shutdown,
) -> Response {
    let (session, created) = session(&app, peer, id, rights);
    // Old browsers show nothing of a response before 2 KiB have come.
    let mut head = "h".repeat(2048);
    head.push('\n');
    if created {
        head.push_str("o\n");
    }
    if let Some((code, reason)) = session.closed() {
        return javascript(head + &close_frame(code, &reason) + "\n");
    }
    let Ok(rx) = Arc::clone(&session.outbound).try_lock_owned() else {
        return javascript(head + &close_frame(STILL_OPEN.0, STILL_OPEN.1) + "\n");
    };
    let state = Streaming {
        rx,
        heartbeat: app.0.cfg.sockjs_heartbeat,
        _attached: Attached::new(&session),
        session,
        head: Some(head),
        sent: 0,
        done: false,
        ends,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(head) = st.head.take() {
            return Some((Ok::<_, std::convert::Infallible>(Bytes::from(head)), st));
        }
        if st.done || st.sent >= STREAM_LIMIT {
            return None;
        }
        let next = tokio::select! {
            next = next_frames(&mut st.rx, &st.session, st.heartbeat, true) => next,
            _ = st.ends.recv() => return None,
        };
        let Some((out, closed)) = next else {
            return Some((Ok(Bytes::from_static(b"h\n")), st));
        };
        st.done = closed;
        st.sent += out.len();
        Some((Ok(Bytes::from(out)), st))
    });
    javascript(Body::from_stream(stream))
}

async fn xhr_send(app: App, id: &str, req: Request) -> Response {
    let found = lock(&app.0.sockjs.map).get(id).cloned();
    let Some(session) = found.filter(|s| s.closed().is_none()) else {
        return text(StatusCode::NOT_FOUND, "Session not found\n");
    };
    let max = app.0.cfg.max_message_size;
    let stall = app.0.cfg.request_timeout;
    let body = match super::publish::read_body(req.into_body(), max, 0, stall).await {
        Ok(b) => b,
        Err(e) => return e.into_response(max),
    };
    if body.is_empty() {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "Payload expected.");
    }
    let Ok(messages) = decode_client(&body) else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "Broken JSON encoding.");
    };
    for m in messages {
        if session.inbound.send(m).await.is_err() {
            return text(StatusCode::NOT_FOUND, "Session not found\n");
        }
    }
    let mut response = (
        StatusCode::NO_CONTENT,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        )],
    )
        .into_response();
    no_cache(response.headers_mut());
    response
}

/// A framed WebSocket: a session of its own, for the socket's life.
fn framed_websocket(
    app: App,
    peer: SocketAddr,
    mut req: Request,
    id: &str,
    rights: Option<Rights>,
) -> Response {
    let handshake = match super::upgrade::handshake(&mut req, &[]) {
        Ok(h) => h,
        Err(refusal) => return *refusal,
    };
    let who = format!("{peer} /_/sockjs session {id} (websocket)");
    let open = OpenGuard::new(&app.0.open, super::Transport::SockJs);
    let ends = super::ends_of(&app, &req);
    let response = handshake.response;
    let on_upgrade = handshake.on_upgrade;
    tokio::spawn(async move {
        let Some(ws) = super::upgrade::socket(&app, on_upgrade, &who).await else {
            return;
        };
        let (channel, in_tx, out_rx) = Channel::new();
        let heartbeat = app.0.cfg.sockjs_heartbeat;
        let bare = app.0.cfg.chaos.drop_close;
        let stomp = tokio::spawn(super::run_stomp(
            app,
            Peer::SockJs(channel),
            who,
            open,
            rights,
            ends,
        ));
        pump(ws, in_tx, out_rx, heartbeat, bare).await;
        // The socket is gone: so is the session (its inbound end dropped).
        let _ = stomp.await;
    });
    response
}

/// Move messages between a framed WebSocket and its STOMP connection,
/// never blocked on one side while the other has something to say.
/// `bare` (`--chaos-drop-close`): a close is the socket dropped, without
/// SockJS's `c[...]` or the WebSocket close frame.
async fn pump(
    mut ws: super::upgrade::ServerWs,
    inbound: mpsc::Sender<String>,
    mut outbound: mpsc::Receiver<Outbound>,
    heartbeat: Duration,
    bare: bool,
) {
    if !send_within(&mut ws, Message::text("o")).await {
        return;
    }
    let mut waiting: std::collections::VecDeque<String> = Default::default();
    loop {
        tokio::select! {
            permit = inbound.reserve(), if !waiting.is_empty() => {
                let Ok(permit) = permit else { return };
                if let Some(m) = waiting.pop_front() {
                    permit.send(m);
                }
            }
            // Read more only once what was read is passed on.
            m = ws.next(), if waiting.is_empty() => {
                let body = match m {
                    Some(Ok(Message::Text(t))) => Bytes::from(t),
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                match decode_client(&body) {
                    Ok(messages) => waiting.extend(messages),
                    Err(_) => {
                        let frame = CloseFrame {
                            code: CloseCode::Protocol,
                            reason: "Broken framing.".into(),
                        };
                        let _ = ws.send(Message::Close(Some(frame))).await;
                        return;
                    }
                }
            }
            o = outbound.recv() => {
                let (mut batch, close) = collect(o, &mut outbound, STREAM_LIMIT);
                if !batch.is_empty() {
                    let frame = format!("a{}", batch.take());
                    if !send_within(&mut ws, Message::text(frame)).await {
                        return;
                    }
                }
                if let Some((code, reason)) = close {
                    if !bare && send_within(&mut ws, Message::text(close_frame(code, &reason))).await {
                        let (mut sink, mut stream) = ws.split();
                        super::ws::close(&mut sink, &mut stream, CloseCode::Normal, String::new()).await;
                    }
                    return;
                }
            }
            _ = tokio::time::sleep(heartbeat) => {
                if !send_within(&mut ws, Message::text("h")).await {
                    return;
                }
            }
        }
    }
}

/// Send `m`, unless the client has taken nothing for
/// [`super::ws::SLOW_CLOSE_GRACE`] (as the STOMP side's writes are
/// bounded, see `peer.rs`): false when it is gone.
async fn send_within(ws: &mut super::upgrade::ServerWs, m: Message) -> bool {
    matches!(
        tokio::time::timeout(super::ws::SLOW_CLOSE_GRACE, ws.send(m)).await,
        Ok(Ok(()))
    )
}

/// Lock a std Mutex, ignoring poisoning (no section here can leave the
/// state half-updated).
#[cfg(test)]
mod tests {
    use super::super::test_support::{http, post, start};
    use super::*;

    const CONNECT: &str = "[\"CONNECT\\naccept-version:1.2\\n\\n\\u0000\"]";

    #[tokio::test]
    async fn info_then_an_xhr_session_carries_stomp() {
        let server = start(|_| {}).await;
        let addr = server.addr;
        let (status, body) = http(addr, "GET /_/sockjs/info HTTP/1.1", b"").await;
        assert_eq!(status, 200);
        let info: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(info["websocket"], true);
        assert_eq!(info["cookie_needed"], false);
        assert!(info["entropy"].is_u64());
        let (status, body) = http(addr, "GET /_/sockjs HTTP/1.1", b"").await;
        assert_eq!((status, body.as_str()), (200, "Welcome to SockJS!\n"));

        let session = "/_/sockjs/000/abc";
        let xhr = format!("POST {session}/xhr HTTP/1.1\r\nContent-Length: 0");
        assert_eq!(http(addr, &xhr, b"").await, (200, "o\n".to_string()));
        let send = format!("{session}/xhr_send");
        // Two receivers at once: the second is refused with 2010 at once;
        // the first is held until there is something to say.
        let receive = || {
            let xhr = xhr.clone();
            tokio::spawn(async move { http(addr, &xhr, b"").await })
        };
        let (mut a, mut b) = (receive(), receive());
        let (refused, held) = tokio::select! {
            r = &mut a => (r.unwrap(), b),
            r = &mut b => (r.unwrap(), a),
        };
        assert_eq!(
            refused,
            (
                200,
                "c[2010,\"Another connection still open\"]\n".to_string()
            )
        );
        assert_eq!(
            post(addr, &send, "text/plain", CONNECT.as_bytes()).await.0,
            204
        );
        let (status, frames) = held.await.unwrap();
        assert_eq!(status, 200);
        let Ok(Frame::Messages(m)) = crate::codec::sockjs::decode(frames.trim_end().as_bytes())
        else {
            panic!("{frames}");
        };
        assert!(m[0].starts_with("CONNECTED\nversion:1.2\n"), "{m:?}");

        // Broken JSON and unknown sessions.
        assert_eq!(post(addr, &send, "text/plain", b"[\"x").await.0, 500);
        assert_eq!(post(addr, &send, "text/plain", b"").await.0, 500);
        let unknown = post(addr, "/_/sockjs/000/nobody/xhr_send", "text/plain", b"[]").await;
        assert_eq!(unknown.0, 404);
        assert_eq!(
            http(addr, "GET /_/sockjs/a.b/c/xhr HTTP/1.1", b"").await.0,
            404
        );

        // DISCONNECT ends the STOMP connection; every later receiver gets
        // the close frame.
        let bye = "[\"DISCONNECT\\nreceipt:r\\n\\n\\u0000\"]";
        assert_eq!(post(addr, &send, "text/plain", bye.as_bytes()).await.0, 204);
        let mut seen = String::new();
        while !seen.contains("c[3000") {
            seen.push_str(&http(addr, &xhr, b"").await.1);
        }
        assert!(seen.contains("RECEIPT\\nreceipt-id:r"), "{seen}");
        assert_eq!(http(addr, &xhr, b"").await.1, "c[3000,\"Go away!\"]\n");
        assert_eq!(post(addr, &send, "text/plain", b"[]").await.0, 404);
        server.shut_down().await.unwrap();
    }

    #[test]
    fn queued_messages_become_one_frame_and_a_close_after() {
        let (tx, mut rx) = mpsc::channel(8);
        tx.try_send(Outbound::Message("b".into())).ok();
        tx.try_send(Outbound::Close(3000, "Go away!".into())).ok();
        let (mut batch, close) = collect(Some(Outbound::Message("a".into())), &mut rx, 1000);
        assert_eq!(close, Some((3000, "Go away!".to_string())));
        let mut again = Batch::default();
        again.push("a");
        again.push("b");
        assert_eq!(
            frames(&mut batch, close.as_ref(), true),
            format!("a{}\nc[3000,\"Go away!\"]\n", again.take())
        );
        // Polling sends the close only when there is nothing else.
        let mut empty = Batch::default();
        assert_eq!(
            frames(&mut empty, close.as_ref(), false),
            "c[3000,\"Go away!\"]\n"
        );
        assert!(valid_id("abc") && !valid_id("a.b") && !valid_id(""));
    }
}
