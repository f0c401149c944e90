//! The server's side of the WebSocket opening handshake (RFC 6455 4.2),
//! done on hyper directly so the broker uses the same tungstenite as the
//! client: check the request, choose a subprotocol, answer `101`, and take
//! the socket once hyper has switched protocols. Topic paths, the STOMP
//! endpoint and SockJS's websocket transport all upgrade through here.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::pin::Pin;

use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::{App, text};
use crate::transport::ws::Io;

/// A WebSocket handshake found valid: the upgrade to await once the `101`
/// answer has gone out, and that answer.
pub(super) struct Handshake {
    pub(super) on_upgrade: hyper::upgrade::OnUpgrade,
    pub(super) response: Response,
}

/// The server's end of an upgraded connection: the very type of the
/// client's (its socket behind `dyn Io`), so that the one copy of
/// tokio-tungstenite's frame reading serves both; with a type of its own,
/// the reading was compiled twice, and neither copy inlined its helpers
/// (`pubcat sub` spent 12% more time in tungstenite than a lone client).
pub(super) type ServerWs = crate::transport::ws::Ws;

/// Check a WebSocket upgrade request (RFC 6455 4.2.1) and build the `101`,
/// selecting the first of `protocols` (ours, most preferred first) that
/// the client offers; a client that offers none of them gets none.
pub(super) fn handshake(
    req: &mut Request,
    protocols: &[&'static str],
) -> Result<Handshake, Box<Response>> {
    let headers = req.headers();
    if !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            "WebSocket handshake: Connection must include `upgrade`\n",
        )));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut resp = text(
            StatusCode::BAD_REQUEST,
            "WebSocket handshake: only Sec-WebSocket-Version 13 is supported\n",
        );
        // RFC 6455 4.4: say which version we speak.
        resp.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(Box::new(resp));
    }
    // RFC 6455 4.2.1: the key is 16 random bytes, base64-encoded.
    let key = match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(k) if is_valid_key(k.as_bytes()) => k.as_bytes(),
        _ => {
            return Err(Box::new(text(
                StatusCode::BAD_REQUEST,
                "WebSocket handshake: missing or malformed Sec-WebSocket-Key\n",
            )));
        }
    };
    let Ok(accept) = HeaderValue::try_from(derive_accept_key(key)) else {
        return Err(Box::new(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode Sec-WebSocket-Accept\n",
        )));
    };
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let protocol = protocols.iter().find(|p| offered.contains(p)).copied();
    // Hyper only offers an upgrade on HTTP/1.1 connections.
    if req
        .extensions()
        .get::<hyper::upgrade::OnUpgrade>()
        .is_none()
    {
        return Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            "WebSocket handshake needs HTTP/1.1\n",
        )));
    }
    let on_upgrade = hyper::upgrade::on(req);
    let mut response = (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
        ],
    )
        .into_response();
    if let Some(p) = protocol {
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
    }
    Ok(Handshake {
        on_upgrade,
        response,
    })
}

/// The WebSocket once hyper has switched protocols; None (logged) when the
/// upgrade failed.
pub(super) async fn socket(
    app: &App,
    on_upgrade: hyper::upgrade::OnUpgrade,
    who: &str,
) -> Option<ServerWs> {
    let upgraded = match on_upgrade.await {
        Ok(u) => u,
        Err(e) => {
            app.log_conn(format_args!("ws upgrade failed {who}: {e}"));
            return None;
        }
    };
    Some(
        WebSocketStream::from_raw_socket(
            Box::pin(TokioIo::new(upgraded)) as Pin<Box<dyn Io>>,
            Role::Server,
            Some(app.0.ws_config),
        )
        .await,
    )
}

/// True when a comma-separated header (any of its values) lists `token`,
/// case-insensitively: `Connection: keep-alive, Upgrade` has `upgrade`.
pub(super) fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

pub(super) fn is_valid_key(key: &[u8]) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_ok_and(|k| k.len() == 16)
}
