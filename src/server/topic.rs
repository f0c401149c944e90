//! The topic routes: `GET /{topic}` as a WebSocket (subscribe and publish
//! on one connection, see [`super::ws`]), SSE or long-poll (see
//! [`super::http_sub`]), and where each starts: the cursor a request names
//! (`?since=`, `?last_event_id=`, `Last-Event-ID`, `If-None-Match`,
//! `?last=N`), checked against the run of the broker it came from.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::codec::pubcat::{CURSOR, EPOCH, IDS, SEQUENCE};

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

/// `?last=N`: the cursor that replays the last N kept messages.
pub(super) fn last_of(app: &App, topic: &str, query: Option<&str>) -> Option<u64> {
    let n = url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "last")
        .and_then(|(_, v)| v.parse().ok())?;
    Some(app.0.broker.cursor_for_last(topic, n))
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
    // Every answer names this run of the broker (see `this_run`).
    let epoch = epoch_value(&app);
    let mut response = if header_has_token(req.headers(), header::UPGRADE, "websocket") {
        upgrade(app, peer, topic, req)
    } else if req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
    {
        let query = req.uri().query();
        let since = http_sub::cursor(req.headers(), query, "last-event-id");
        let since = this_run(&app, req.headers(), since);
        let since = since.or_else(|| last_of(&app, &topic, query));
        http_sub::sse(app, peer, &topic, since)
    } else {
        let query = req.uri().query();
        let since = http_sub::cursor(req.headers(), query, "if-none-match");
        let since = this_run(&app, req.headers(), since);
        let since = since.or_else(|| last_of(&app, &topic, query));
        http_sub::poll(app, peer, &topic, since).await
    };
    response.headers_mut().insert(EPOCH, epoch);
    response
}

pub(super) fn epoch_value(app: &App) -> HeaderValue {
    HeaderValue::from_str(app.0.broker.epoch()).unwrap_or(HeaderValue::from_static("0"))
}

/// A cursor from an earlier run of the broker (the client says which with
/// `X-Pubcat-Epoch`) counts ids that no longer mean the same messages: it
/// replays all that is kept, as a cursor past the last id does. Without
/// the header a cursor is taken as it is.
pub(super) fn this_run(app: &App, headers: &HeaderMap, since: Option<u64>) -> Option<u64> {
    match headers.get(EPOCH) {
        Some(e) if since.is_some() && e.as_bytes() != app.0.broker.epoch().as_bytes() => Some(0),
        _ => since,
    }
}

/// Validate the handshake, subscribe, answer 101 and hand the socket to a
/// task once hyper has switched protocols.
pub(super) fn upgrade(app: App, peer: SocketAddr, topic: String, mut req: Request) -> Response {
    let since = match since_of(req.uri().query()) {
        Ok(s) => {
            this_run(&app, req.headers(), s).or_else(|| last_of(&app, &topic, req.uri().query()))
        }
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
    let sub = app.0.broker.subscribe(&topic, since);
    let gap = sub.gap();
    if meta {
        let headers = response.headers_mut();
        headers.insert(IDS, HeaderValue::from_static(SEQUENCE));
        if !sub.has_backlog() {
            headers.insert(CURSOR, HeaderValue::from(sub.head()));
        }
    }
    let open = OpenGuard::new(&app.0.open);
    let path = format!("/{topic}");
    tokio::spawn(async move {
        let _open = open;
        let who = format!("{peer} {path}");
        let Some(socket) = socket(&app, on_upgrade, &who).await else {
            return;
        };
        // Raw WebSocket has no way to tell the client about a gap, so at
        // least the broker's log says it.
        match gap {
            Some(g) => app.log(format_args!(
                "ws connect {peer} {path} (ids {}..={} are no longer kept, replay starts after them)",
                g.first, g.last
            )),
            None => app.log(format_args!("ws connect {peer} {path}")),
        }
        let mut shutdown = app.0.shutdown.clone();
        let conn = ws::Conn {
            peer,
            path: path.clone(),
            sub,
            since,
            shutdown: app.0.shutdown.clone(),
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
        app.log(format_args!(
            "ws close {peer} {path} (in {}, out {}, {})",
            stats.messages_in, stats.messages_out, stats.reason
        ));
    });

    response
}
