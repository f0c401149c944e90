//! The topic routes: `GET /{topic}` as a WebSocket (subscribe and publish
//! on one connection, see [`super::ws`]), SSE or long-poll (see
//! [`super::http_sub`]), and where each starts: the cursor a request names
//! (`?since=`, `?last_event_id=`, `Last-Event-ID`, `If-None-Match`,
//! `?last=N`), checked against the run of the topic it came from
//! (`X-Pubcat-Epoch`, see [`super::broker::Topic::epoch`]). A request that
//! would create a topic past `--max-topics` is refused with `503` before
//! anything else.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::codec::pubcat::{CURSOR, EPOCH, IDS, SEQUENCE};

use super::broker::{Full, Start, Subscription};
use super::upgrade::{Handshake, handshake, header_has_token, socket};
use super::{App, OpenGuard, Refusal, http_sub, ws};

/// The topic named by a request path, or why it names none.
pub(super) fn topic_of(path: &str) -> Result<&str, Refusal> {
    let topic = path.strip_prefix('/').unwrap_or(path);
    if topic.is_empty() || topic == "_" || topic.starts_with("_/") {
        return Err(Refusal(
            StatusCode::NOT_FOUND,
            "not found: paths under /_/ belong to the broker, not to topics\n".to_string(),
        ));
    }
    Ok(topic)
}

/// `?last=N`: replay the last N kept messages.
fn last_of(query: Option<&str>) -> Option<u64> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "last")
        .and_then(|(_, v)| v.parse().ok())
}

/// Where a request starts: after its cursor, else its `?last=N`, else live.
fn start_of(cursor: Option<u64>, query: Option<&str>) -> Start {
    match (cursor, last_of(query)) {
        (Some(id), _) => Start::After(id),
        (None, Some(n)) => Start::Last(n),
        (None, None) => Start::Live,
    }
}

/// The refusal of a request that would create a topic past the cap,
/// logged (throttled) and counted.
pub(super) fn topic_full(app: &App, peer: SocketAddr, path: &str, full: Full) -> Refusal {
    app.log_refusal(format_args!(
        "{peer} {path}: the broker has {} topics, its --max-topics",
        full.max
    ));
    Refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "refused: the broker has {} topics, its --max-topics; try again when some are idle\n",
            full.max
        ),
    )
}

/// The run a subscription's ids belong to, for `X-Pubcat-Epoch`.
pub(super) fn epoch_header(sub: &Subscription) -> HeaderValue {
    HeaderValue::from_str(&sub.topic().epoch()).unwrap_or(HeaderValue::from_static("0"))
}

/// `?since=ID` (or Nchan's `?last_event_id=ID`): `Ok(None)` when absent.
pub(super) fn since_of(query: Option<&str>) -> Result<Option<u64>, Refusal> {
    let Some(query) = query else { return Ok(None) };
    match url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "since" || k == "last_event_id")
    {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| {
            Refusal(
                StatusCode::BAD_REQUEST,
                format!("since must be a message id (a whole number >= 0), not `{v}`\n"),
            )
        }),
    }
}

pub(super) async fn topic_get(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let topic = match topic_of(req.uri().path()) {
        Ok(t) => t.to_string(),
        Err(refusal) => return refusal.into_response(),
    };
    // Every answer names the run of the topic's ids (see `epoch_header`);
    // a cursor is sent back with the run it came from.
    let epoch = req.headers().get(EPOCH).map(|e| e.as_bytes());
    let query = req.uri().query();
    if header_has_token(req.headers(), header::UPGRADE, "websocket") {
        return upgrade(app, peer, topic, req);
    }
    let sse = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    // SSE's cursor is Last-Event-ID; long-poll's the last answer's Etag.
    let cursor_header = if sse {
        "last-event-id"
    } else {
        "if-none-match"
    };
    let cursor = http_sub::cursor(req.headers(), query, cursor_header);
    let ask = http_sub::Ask {
        peer,
        topic: &topic,
        start: start_of(cursor, query),
        epoch,
        ends: super::ends_of(&app, &req),
    };
    if sse {
        http_sub::sse(app, ask)
    } else {
        http_sub::poll(app, ask).await
    }
}

/// Validate the handshake, subscribe, answer 101 and hand the socket to a
/// task once hyper has switched protocols.
pub(super) fn upgrade(app: App, peer: SocketAddr, topic: String, mut req: Request) -> Response {
    let start = match since_of(req.uri().query()) {
        Ok(cursor) => start_of(cursor, req.uri().query()),
        Err(refusal) => return refusal.into_response(),
    };
    let Handshake {
        on_upgrade,
        mut response,
    } = match handshake(&mut req, &[crate::codec::meta::SUBPROTOCOL]) {
        Ok(h) => h,
        Err(refusal) => return *refusal,
    };
    let meta = response
        .headers()
        .contains_key(header::SEC_WEBSOCKET_PROTOCOL);
    let rights = super::auth::rights_of(&req).unwrap_or(super::auth::Rights::NONE);

    // Subscribe and count the connection before answering: a client whose
    // handshake completed misses nothing, and `run` waits for this socket.
    let path = format!("/{topic}");
    let epoch = req.headers().get(EPOCH).map(|e| e.as_bytes());
    let sub = match app.0.broker.subscribe(&topic, start, epoch) {
        Ok(sub) => sub,
        Err(full) => return topic_full(&app, peer, &path, full).into_response(),
    };
    let gap = sub.gap();
    response.headers_mut().insert(EPOCH, epoch_header(&sub));
    if meta {
        let headers = response.headers_mut();
        headers.insert(IDS, HeaderValue::from_static(SEQUENCE));
        if !sub.has_backlog() {
            headers.insert(CURSOR, HeaderValue::from(sub.head()));
        }
    }
    let open = OpenGuard::new(&app.0.open, super::Transport::Ws);
    let ends = super::ends_of(&app, &req);
    tokio::spawn(async move {
        let _open = open;
        let who = format!("{peer} {path}");
        let Some(socket) = socket(&app, on_upgrade, &who).await else {
            return;
        };
        // Raw WebSocket has no way to tell the client about a gap, so at
        // least the broker's log says it.
        match gap {
            Some(g) => app.log_conn(format_args!(
                "ws connect {peer} {path} (ids {}..={} are no longer kept, replay starts after them)",
                g.first, g.last
            )),
            None => app.log_conn(format_args!("ws connect {peer} {path}")),
        }
        let mut shutdown = app.0.shutdown.clone();
        let conn = ws::Conn {
            peer,
            path: path.clone(),
            sub,
            shutdown: ends,
            chaos: app.0.cfg.chaos,
            quiet: app.0.cfg.quiet,
            meta,
            rights,
        };
        let mut stats = ws::ConnStats::default();
        tokio::select! {
            _ = ws::serve(socket, conn, &mut stats) => {}
            _ = shutdown.grace_over() => {
                stats.reason = "server shutting down; client did not close in time".to_string();
            }
        }
        app.log_conn(format_args!(
            "ws close {peer} {path} (in {}, out {}, {})",
            stats.messages_in, stats.messages_out, stats.reason
        ));
    });

    response
}
