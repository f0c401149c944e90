//! A session: a dialect speaking over a transport, seen by commands as a
//! stream of [`Message`]s in and bodies out.
//!
//! Today the only dialect is raw frames over WebSocket: a text or binary
//! frame is one message. Later dialects (STOMP, Socket.IO) and transports
//! (SSE, long-poll, SockJS) plug in here, and so do reconnect and resume for
//! `tail`, so commands never touch frames.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message as Frame, Utf8Bytes};

use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::message::Message;
use crate::transport::ws::{self, Ws, WsOptions};
use crate::{trace, verbose};

/// What a session yields.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// The server closed the session; `clean` when it said all is well.
    Closed {
        reason: String,
        clean: bool,
    },
}

pub struct Session {
    ws: Ws,
    endpoint: Endpoint,
    /// Set once we have sent our close frame.
    closing: bool,
    /// The receive time given to messages: taken when a wait for the
    /// socket ends and reused for the burst drained after it, because a
    /// clock read per message costs ~8% of receive throughput.
    received_at: SystemTime,
}

/// How long to wait for the server's answer to our close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

impl Session {
    pub async fn connect(endpoint: &Endpoint, opts: &WsOptions) -> Result<Session> {
        let ws = ws::connect(&endpoint.url, opts).await?;
        Ok(Session {
            ws,
            endpoint: endpoint.clone(),
            closing: false,
            received_at: SystemTime::now(),
        })
    }

    pub fn topic(&self) -> &Arc<str> {
        &self.endpoint.topic
    }

    /// The next message or close. Pings and pongs are handled here.
    pub async fn next(&mut self) -> Result<Incoming> {
        loop {
            let frame = self.ws.next().await;
            self.received_at = SystemTime::now();
            if let Some(incoming) = self.on_frame(frame)? {
                return Ok(incoming);
            }
        }
    }

    /// The next message if one is already buffered, without waiting: lets a
    /// reader drain a burst and flush its output once per burst. Messages of
    /// one burst share the receive time of its first.
    pub fn next_ready(&mut self) -> Option<Result<Incoming>> {
        loop {
            let frame = self.ws.next().now_or_never()?;
            match self.on_frame(frame) {
                Ok(Some(incoming)) => return Some(Ok(incoming)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn on_frame(
        &mut self,
        frame: Option<Result<Frame, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<Option<Incoming>> {
        match frame {
            Some(Ok(Frame::Text(text))) => {
                trace!("recv text {} bytes", text.len());
                let body = Bytes::from(text);
                Ok(Some(Incoming::Message(self.message(body, false))))
            }
            Some(Ok(Frame::Binary(body))) => {
                trace!("recv binary {} bytes", body.len());
                Ok(Some(Incoming::Message(self.message(body, true))))
            }
            Some(Ok(Frame::Ping(p))) => {
                trace!("recv ping {} bytes (pong queued)", p.len());
                Ok(None)
            }
            Some(Ok(Frame::Pong(p))) => {
                trace!("recv pong {} bytes", p.len());
                Ok(None)
            }
            Some(Ok(Frame::Close(frame))) => {
                let reason = ws::describe_close(frame.as_ref());
                verbose!("server sent close {reason}");
                Ok(Some(Incoming::Closed {
                    clean: ws::is_clean_close(frame.as_ref()),
                    reason,
                }))
            }
            Some(Ok(Frame::Frame(_))) => Ok(None),
            // The stream ends after a completed close handshake.
            None | Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) => {
                Ok(Some(Incoming::Closed {
                    reason: "connection closed".into(),
                    clean: self.closing,
                }))
            }
            Some(Err(e)) => Err(ws::stream_error(&self.endpoint.url, e)),
        }
    }

    fn message(&self, body: Bytes, binary: bool) -> Message {
        Message::received(
            self.endpoint.topic.clone(),
            body,
            binary,
            self.endpoint.transport_name,
            self.received_at,
        )
    }

    /// Queue a message for sending; [`Session::flush`] pushes it out. A text
    /// body that is not UTF-8 cannot be a text frame, so it goes as binary
    /// rather than being lost; returns true when that happened.
    pub async fn feed(&mut self, body: Bytes, binary: bool) -> Result<bool> {
        let as_binary = binary || std::str::from_utf8(&body).is_err();
        let frame = if as_binary {
            Frame::Binary(body)
        } else {
            // SAFETY: checked just above; `try_from` would copy nothing
            // either, but would need a second reference to keep the bytes
            // for the binary fallback, and that refcount traffic shows up at
            // millions of messages a second.
            Frame::Text(unsafe { Utf8Bytes::from_bytes_unchecked(body) })
        };
        self.ws
            .feed(frame)
            .await
            .map_err(|e| ws::stream_error(&self.endpoint.url, e))?;
        Ok(as_binary)
    }

    pub async fn flush(&mut self) -> Result<()> {
        self.ws
            .flush()
            .await
            .map_err(|e| ws::stream_error(&self.endpoint.url, e))
    }

    pub async fn ping(&mut self) -> Result<()> {
        trace!("send ping");
        self.ws
            .send(Frame::Ping(Bytes::from_static(b"pubcat")))
            .await
            .map_err(|e| ws::stream_error(&self.endpoint.url, e))
    }

    /// Close cleanly: send close 1000, then keep reading until the server
    /// answers, handing any message that was already on its way to
    /// `on_message` (it is valid and must not be lost). Returns whether the
    /// server completed the close handshake in time.
    pub async fn close(
        &mut self,
        mut on_message: impl FnMut(Message) -> Result<()>,
    ) -> Result<bool> {
        if !self.closing {
            self.closing = true;
            verbose!("sending close 1000");
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            if let Err(e) = self.ws.close(Some(frame)).await {
                verbose!("close frame not sent: {e}");
                return Ok(false);
            }
        }
        let drain = async {
            loop {
                match self.next().await {
                    Ok(Incoming::Message(m)) => on_message(m)?,
                    Ok(Incoming::Closed { .. }) => return Ok(true),
                    Err(e) => {
                        verbose!("while closing: {e}");
                        return Ok(false);
                    }
                }
            }
        };
        match tokio::time::timeout(CLOSE_WAIT, drain).await {
            Ok(result) => result,
            Err(_) => {
                verbose!("server did not answer the close within {CLOSE_WAIT:?}");
                Ok(false)
            }
        }
    }
}
