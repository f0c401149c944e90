//! The Engine.IO session's WebSocket wire: one Engine.IO packet per
//! WebSocket message; binary packets are binary frames without a type
//! byte. The session gets here two ways: over WebSocket from the start
//! (the first frame is the open packet), or by the upgrade right after the
//! polling handshake, before any polling request is in flight: open the
//! WebSocket with the sid, send `2probe`, expect `3probe`, send `5`; from
//! then on only the WebSocket is used.
//!
//! It is apart from the session because it has no tasks: the ping clock
//! and the pong are kept here, on the caller's reads, where polling keeps
//! them in its reader.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use url::Url;

use super::{Received, dead, parse_open};
use crate::codec::engineio::{self, Handshake, Packet};
use crate::error::{Error, Result};
use crate::transport::Options;
// The shared WebSocket client, not this file.
use crate::transport::ws::{self, Ws};
use crate::{trace, verbose};

/// How long the server has to answer the upgrade probe (its own
/// `upgradeTimeout` is 10 s).
const PROBE_WAIT: Duration = Duration::from_secs(10);

pub(super) struct WebSocket {
    ws: Box<Ws>,
    /// The Engine.IO WebSocket URL, for errors.
    url: Url,
    last_ping: Instant,
    pong_due: bool,
    closing: bool,
}

impl WebSocket {
    fn new(ws: Ws, url: Url) -> WebSocket {
        WebSocket {
            ws: Box::new(ws),
            url,
            last_ping: Instant::now(),
            pong_due: false,
            closing: false,
        }
    }

    /// Open a session over WebSocket at `url` (no sid): the first frame is
    /// the open packet. `shown` is `url` for messages.
    pub(super) async fn open(
        url: Url,
        shown: &str,
        opts: &Options,
    ) -> Result<(WebSocket, Handshake)> {
        let mut ws = ws::connect(&url, opts).await?;
        let handshake = loop {
            match ws.next().await {
                Some(Ok(Frame::Text(t))) => break parse_open(shown, Bytes::from(t))?,
                Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
                Some(Ok(Frame::Close(c))) => {
                    return Err(Error::server(format!(
                        "{shown} closed the WebSocket before the Engine.IO handshake ({})",
                        ws::describe_close(c.as_ref())
                    )));
                }
                Some(Ok(_)) => {
                    return Err(Error::server(format!(
                        "{shown} sent a binary frame where the Engine.IO open packet belongs (is it a Socket.IO server?)"
                    )));
                }
                None => {
                    return Err(Error::connect(format!(
                        "{shown} closed the connection before the Engine.IO handshake"
                    )));
                }
                Some(Err(e)) => return Err(ws::stream_error(&url, e)),
            }
        };
        Ok((WebSocket::new(ws, url), handshake))
    }

    /// Open the WebSocket at `url`, a polling session's, and do the probe
    /// exchange.
    pub(super) async fn probe(url: Url, opts: &Options) -> Result<WebSocket> {
        let mut ws = ws::connect(&url, opts).await?;
        ws.send(Frame::Text("2probe".into()))
            .await
            .map_err(|e| ws::stream_error(&url, e))?;
        let answered = tokio::time::timeout(PROBE_WAIT, async {
            loop {
                match ws.next().await {
                    Some(Ok(Frame::Text(t))) => return Ok(t.as_str() == "3probe"),
                    Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
                    Some(Ok(_)) | None => return Ok(false),
                    Some(Err(e)) => return Err(ws::stream_error(&url, e)),
                }
            }
        })
        .await;
        match answered {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Err(Error::server("the probe was not answered with 3probe")),
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::connect(format!(
                    "no answer to the probe within {}s",
                    PROBE_WAIT.as_secs()
                )));
            }
        }
        ws.send(Frame::Text("5".into()))
            .await
            .map_err(|e| ws::stream_error(&url, e))?;
        Ok(WebSocket::new(ws, url))
    }

    /// [`super::EngineIo::next`] on WebSocket: `handshake` has the ping
    /// timing, `shown` names the session.
    pub(super) async fn next(&mut self, handshake: &Handshake, shown: &str) -> Result<Received> {
        let ws = &mut self.ws;
        loop {
            if self.pong_due {
                ws.feed(Frame::Text("3".into()))
                    .await
                    .map_err(|e| ws::stream_error(&self.url, e))?;
                self.pong_due = false;
                ws.flush()
                    .await
                    .map_err(|e| ws::stream_error(&self.url, e))?;
                trace!("send pong");
            }
            let dead_at = self.last_ping + handshake.ping_interval + handshake.ping_timeout;
            let frame = tokio::select! {
                biased;
                frame = ws.next() => frame,
                _ = sleep_until(dead_at) => return Err(dead(shown, handshake)),
            };
            match frame {
                Some(Ok(Frame::Text(t))) => {
                    let packet = engineio::decode_text(Bytes::from(t))
                        .map_err(|e| Error::server(format!("{shown} sent {e}")))?;
                    match packet {
                        Packet::Message(m) => return Ok(Received::Message(m)),
                        Packet::Ping(_) => {
                            trace!("recv ping");
                            self.last_ping = Instant::now();
                            self.pong_due = true;
                        }
                        Packet::Close => return Ok(Received::session_closed()),
                        other => trace!("ignoring Engine.IO {other:?}"),
                    }
                }
                Some(Ok(Frame::Binary(b))) => return Ok(Received::Binary(b)),
                Some(Ok(Frame::Close(c))) => {
                    verbose!("server sent close {}", ws::describe_close(c.as_ref()));
                    return Ok(Received::Closed {
                        reason: format!("WebSocket close {}", ws::describe_close(c.as_ref())),
                    });
                }
                Some(Ok(_)) => {}
                None | Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) => {
                    if self.closing {
                        return Ok(Received::Closed {
                            reason: "connection closed".into(),
                        });
                    }
                    return Err(Error::connect(format!("{shown} dropped the connection")));
                }
                Some(Err(e)) => return Err(ws::stream_error(&self.url, e)),
            }
        }
    }

    /// Queue a text packet (`4…`) as a text frame.
    pub(super) async fn feed_text(&mut self, text: String) -> Result<()> {
        self.ws
            .feed(Frame::Text(text.into()))
            .await
            .map_err(|e| ws::stream_error(&self.url, e))
    }

    /// Queue a binary packet as a binary frame.
    pub(super) async fn feed_binary(&mut self, bytes: Bytes) -> Result<()> {
        self.ws
            .feed(Frame::Binary(bytes))
            .await
            .map_err(|e| ws::stream_error(&self.url, e))
    }

    pub(super) async fn flush(&mut self) -> Result<()> {
        self.ws
            .flush()
            .await
            .map_err(|e| ws::stream_error(&self.url, e))
    }

    /// Send the close packet and the close frame. True when the server
    /// answered the close.
    pub(super) async fn close(&mut self) -> Result<bool> {
        self.closing = true;
        let ws = &mut self.ws;
        let _ = ws.feed(Frame::Text("1".into())).await;
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        if let Err(e) = WebSocketStream::close(&mut **ws, Some(frame)).await {
            verbose!("close frame not sent: {e}");
            return Ok(false);
        }
        // Read to the server's close so the socket ends cleanly.
        let answered = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ws.next().await {
                    Some(Ok(Frame::Close(_))) | None => return true,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        verbose!("while closing: {e}");
                        return false;
                    }
                }
            }
        })
        .await;
        Ok(answered.unwrap_or(false))
    }
}
