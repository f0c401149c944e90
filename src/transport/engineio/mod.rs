//! Engine.IO v4 client transport: HTTP long-polling, WebSocket, and the
//! upgrade from one to the other. It moves Engine.IO message packets (text
//! and binary) and keeps the session alive; what the messages mean is the
//! Socket.IO dialect's business.
//!
//! This file is the session, [`EngineIo`]: the handshake (the polling
//! handshake GET answers the open packet: sid, ping timing, maxPayload;
//! over WebSocket from the start, `ws.rs` reads the open packet from the
//! first frame and it is parsed here), the choice of wire, maxPayload, and
//! the errors both wires report. The wires are beside it, each behind the
//! same few calls (next, feed, flush, close):
//!
//! - `polling.rs`: HTTP long-polling, one GET and one POST in flight.
//! - `ws.rs`: WebSocket, one Engine.IO packet per message, and the upgrade
//!   probe that moves a polling session onto it. A failed probe leaves the
//!   session on polling.
//!
//! The server pings (`2`) every pingInterval and we answer `3`; no ping for
//! pingInterval + pingTimeout means the connection is dead (exit 3).
//!
//! The HTTP requests use the shared reqwest client builder and the
//! WebSocket the shared connect, so `--ca`, `--insecure`, `-H` and the
//! timeouts mean what they mean everywhere else.

mod polling;
mod ws;

use std::collections::VecDeque;

use bytes::Bytes;
use url::Url;

use self::polling::{Polling, binary_part_len};
use self::ws::WebSocket;
use super::Options;
use super::http::{body_limited, client, error_body, excerpt, log_exchange, request_error};
use crate::codec::engineio::{self, Handshake, Packet};
use crate::error::{Error, Result};
use crate::log::redact_url;
use crate::verbose;

/// Which transports to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Polling handshake, then the upgrade to WebSocket when offered.
    #[default]
    Upgrade,
    /// Long-polling only.
    Polling,
    /// WebSocket from the start (no polling handshake).
    WebSocket,
}

/// What [`EngineIo::next`] gives.
#[derive(Debug)]
pub enum Received {
    /// A text message packet's data.
    Message(Bytes),
    /// A binary message packet.
    Binary(Bytes),
    /// The server ended the session (close packet, WebSocket close).
    Closed { reason: String },
}

impl Received {
    /// What a close packet from the server, on either wire, ends with.
    fn session_closed() -> Received {
        Received::Closed {
            reason: "the server closed the Engine.IO session".into(),
        }
    }
}

pub struct EngineIo {
    io: Io,
    handshake: Handshake,
    /// The Engine.IO URL (http or https, the handshake's), for messages.
    shown: String,
    transport_name: &'static str,
}

/// The wire the session is on now.
enum Io {
    Ws(WebSocket),
    Polling(Polling),
}

/// `url` with the engine path and the Engine.IO query for `transport`,
/// keeping the user's own query parameters (they reach the server's
/// middleware), and the scheme the transport needs.
pub fn engine_url(base: &Url, path: &str, transport: &str, sid: Option<&str>) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    let keep: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| !matches!(k.as_ref(), "EIO" | "transport" | "sid" | "t"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        q.extend_pairs(keep);
        q.append_pair("EIO", "4");
        q.append_pair("transport", transport);
        if let Some(sid) = sid {
            q.append_pair("sid", sid);
        }
    }
    let scheme = match (transport, is_tls(base)) {
        ("websocket", false) => "ws",
        ("websocket", true) => "wss",
        (_, false) => "http",
        (_, true) => "https",
    };
    // All four schemes are "special" in the URL standard, so switching
    // between them always works.
    let _ = url.set_scheme(scheme);
    url
}

fn is_tls(base: &Url) -> bool {
    matches!(base.scheme(), "https" | "wss")
}

impl EngineIo {
    /// Open a session at `base` (http(s), the path is ignored) under the
    /// Engine.IO `path`.
    pub async fn connect(base: &Url, path: &str, mode: Mode, opts: &Options) -> Result<EngineIo> {
        let polling_url = engine_url(base, path, "polling", None);
        let shown = redact_url(&polling_url);
        let connecting = async {
            match mode {
                Mode::WebSocket => Self::connect_ws(base, path, opts).await,
                Mode::Polling | Mode::Upgrade => {
                    Self::connect_polling(base, path, mode == Mode::Upgrade, opts).await
                }
            }
        };
        match tokio::time::timeout(opts.connect_timeout, connecting).await {
            Ok(result) => result,
            Err(_) => Err(Error::connect(format!(
                "timed out waiting for the Engine.IO handshake from {shown} after {} (is it a Socket.IO server? raise --connect-timeout?)",
                humantime::format_duration(opts.connect_timeout)
            ))),
        }
    }

    /// The session on `io`, which `base` was asked for.
    fn new(base: &Url, io: Io, handshake: Handshake, shown: String) -> EngineIo {
        let transport_name = match (&io, is_tls(base)) {
            (Io::Ws(_), false) => "socketio+ws",
            (Io::Ws(_), true) => "socketio+wss",
            (Io::Polling(_), false) => "socketio+http",
            (Io::Polling(_), true) => "socketio+https",
        };
        EngineIo {
            io,
            handshake,
            shown,
            transport_name,
        }
    }

    async fn connect_ws(base: &Url, path: &str, opts: &Options) -> Result<EngineIo> {
        let url = engine_url(base, path, "websocket", None);
        let shown = redact_url(&url);
        let (ws, handshake) = WebSocket::open(url, &shown, opts).await?;
        verbose!(
            "Engine.IO session {} over websocket (ping every {}, timeout {})",
            handshake.sid,
            humantime::format_duration(handshake.ping_interval),
            humantime::format_duration(handshake.ping_timeout)
        );
        Ok(EngineIo::new(base, Io::Ws(ws), handshake, shown))
    }

    async fn connect_polling(
        base: &Url,
        path: &str,
        upgrade: bool,
        opts: &Options,
    ) -> Result<EngineIo> {
        let url = engine_url(base, path, "polling", None);
        let shown = redact_url(&url);
        let http = client(&url, opts)?;
        let response = http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| request_error(&url, e))?;
        log_exchange("GET", &url, &response);
        if !response.status().is_success() {
            return Err(http_failure(&shown, "the Engine.IO handshake", response).await);
        }
        // The handshake is a short JSON open packet.
        let body = body_limited(response, &url, 64 * 1024).await?;
        let mut packets = engineio::decode_payload(&body)
            .map_err(|e| not_engineio(&shown, &e.to_string(), &body))?
            .into_iter();
        let handshake = match packets.next() {
            Some(Packet::Open(data)) => {
                Handshake::parse(&data).map_err(|e| not_engineio(&shown, &e.to_string(), &body))?
            }
            _ => return Err(not_engineio(&shown, "no open packet", &body)),
        };
        let early: VecDeque<Packet> = packets.collect();
        let session_url = engine_url(base, path, "polling", Some(&handshake.sid));
        verbose!(
            "Engine.IO session {} over polling (ping every {}, timeout {}, maxPayload {})",
            handshake.sid,
            humantime::format_duration(handshake.ping_interval),
            humantime::format_duration(handshake.ping_timeout),
            handshake.max_payload
        );
        if upgrade && early.is_empty() {
            if handshake.upgrades.iter().any(|u| u == "websocket") {
                let ws_url = engine_url(base, path, "websocket", Some(&handshake.sid));
                let ws_shown = redact_url(&ws_url);
                match WebSocket::probe(ws_url, opts).await {
                    Ok(ws) => {
                        verbose!("upgraded to websocket");
                        return Ok(EngineIo::new(base, Io::Ws(ws), handshake, ws_shown));
                    }
                    Err(e) => verbose!("websocket upgrade failed ({e}); staying on polling"),
                }
            } else {
                verbose!("the server offers no websocket upgrade; staying on polling");
            }
        }
        let max_body = super::http::batch_limit(opts.max_message_size);
        let session_shown = redact_url(&session_url);
        let polling = Polling::start(http, session_url, &handshake, early, max_body);
        Ok(EngineIo::new(
            base,
            Io::Polling(polling),
            handshake,
            session_shown,
        ))
    }

    /// True on long-polling, false on WebSocket.
    pub fn is_polling(&self) -> bool {
        matches!(self.io, Io::Polling(_))
    }

    /// "socketio+ws", "socketio+https", ...: the transport in use now.
    pub fn transport_name(&self) -> &'static str {
        self.transport_name
    }

    /// The next message packet. Pings are answered, noops skipped.
    /// Cancel-safe: a select may drop it between packets.
    pub async fn next(&mut self) -> Result<Received> {
        match &mut self.io {
            Io::Ws(ws) => ws.next(&self.handshake, &self.shown).await,
            Io::Polling(p) => p.next(&self.shown).await,
        }
    }

    /// Queue a text message packet whose data `encode` writes.
    pub async fn feed_message(&mut self, encode: impl FnOnce(&mut String)) -> Result<()> {
        let mut text = String::with_capacity(64);
        text.push('4');
        encode(&mut text);
        self.check_size(text.len())?;
        match &mut self.io {
            Io::Ws(ws) => ws.feed_text(text).await,
            Io::Polling(p) => p.feed_text(text).await,
        }
    }

    /// Queue a binary message packet.
    pub async fn feed_binary(&mut self, bytes: Bytes) -> Result<()> {
        let len = match &self.io {
            Io::Ws(_) => bytes.len(),
            // Polling carries it as `b` + base64, a third larger.
            Io::Polling(_) => binary_part_len(bytes.len()),
        };
        self.check_size(len)?;
        match &mut self.io {
            Io::Ws(ws) => ws.feed_binary(bytes).await,
            Io::Polling(p) => p.feed_binary(bytes).await,
        }
    }

    fn check_size(&self, len: usize) -> Result<()> {
        if len > self.handshake.max_payload {
            return Err(Error::usage(format!(
                "a packet of {len} bytes is larger than the server accepts (its maxPayload is {} bytes)",
                self.handshake.max_payload
            )));
        }
        Ok(())
    }

    /// Send everything queued: written to the WebSocket, or POSTed and
    /// answered `ok`.
    pub async fn flush(&mut self) -> Result<()> {
        match &mut self.io {
            Io::Ws(ws) => ws.flush().await,
            Io::Polling(p) => p.flush().await,
        }
    }

    /// Send the close packet and end the transport. True when the server
    /// has everything we sent: the WebSocket close was answered, or every
    /// POST was.
    pub async fn close(&mut self) -> Result<bool> {
        match &mut self.io {
            Io::Ws(ws) => ws.close().await,
            Io::Polling(p) => p.close().await,
        }
    }
}

/// The handshake in a text frame: the open packet.
fn parse_open(shown: &str, text: Bytes) -> Result<Handshake> {
    match engineio::decode_text(text.clone()) {
        Ok(Packet::Open(data)) => {
            Handshake::parse(&data).map_err(|e| not_engineio(shown, &e.to_string(), &text))
        }
        Ok(_) => Err(not_engineio(shown, "no open packet", &text)),
        Err(e) => Err(not_engineio(shown, &e.to_string(), &text)),
    }
}

fn not_engineio(shown: &str, why: &str, body: &[u8]) -> Error {
    let excerpt = excerpt(body, 80);
    Error::server(format!(
        "{shown} did not answer like an Engine.IO v4 server ({why}; it sent `{excerpt}`); check the URL and --path"
    ))
}

fn dead(shown: &str, h: &Handshake) -> Error {
    Error::connect(format!(
        "no ping from {shown} for {} (pingInterval + pingTimeout): connection considered dead",
        humantime::format_duration(h.ping_interval + h.ping_timeout)
    ))
}

/// An HTTP error from an Engine.IO server, which answers
/// `{"code":N,"message":"…"}`. "Session ID unknown" means the session is
/// gone (the server restarted or timed us out): a lost connection, which
/// `tail` reconnects, not a refusal.
async fn http_failure(shown: &str, what: &str, response: reqwest::Response) -> Error {
    let status = response.status();
    let body = error_body(response).await;
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let code = parsed.as_ref().and_then(|v| v["code"].as_u64());
    let message = parsed
        .as_ref()
        .and_then(|v| v["message"].as_str())
        .map(str::to_string);
    match (code, message) {
        (Some(1), _) => Error::connect(format!(
            "{shown} no longer knows this Engine.IO session (it restarted or timed us out)"
        )),
        (Some(code), Some(message)) => Error::http_status(
            status.as_u16(),
            format!(
                "{shown} refused {what} with HTTP {status}: {} (Engine.IO error {code})",
                message.replace(char::is_control, " ")
            ),
        ),
        _ => {
            let hint = if status == http::StatusCode::NOT_FOUND {
                " (is the Engine.IO path right? see --path)"
            } else {
                ""
            };
            let excerpt = excerpt(&body, 200);
            let excerpt = if excerpt.is_empty() {
                String::new()
            } else {
                format!(": {excerpt}")
            };
            Error::http_status(
                status.as_u16(),
                format!("{shown} refused {what} with HTTP {status}{excerpt}{hint}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_urls_keep_the_users_query_and_switch_scheme() {
        let base = Url::parse("https://h:1/chat?token=x&EIO=3&transport=polling").unwrap();
        let u = engine_url(&base, "/socket.io/", "websocket", Some("abc"));
        assert_eq!(
            u.as_str(),
            "wss://h:1/socket.io/?token=x&EIO=4&transport=websocket&sid=abc"
        );
        let base = Url::parse("http://h/").unwrap();
        let u = engine_url(&base, "/engine/", "polling", None);
        assert_eq!(u.as_str(), "http://h/engine/?EIO=4&transport=polling");
    }
}
