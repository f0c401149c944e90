//! The broker's end of a STOMP client: a WebSocket carrying STOMP frames,
//! or a SockJS session whose messages are STOMP frames. The STOMP server
//! (`stomp.rs`) speaks through it and the SockJS server (`sockjs.rs`) hands
//! it a [`Channel`], so neither of those two imports the other.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::ws::{SLOW_CLOSE_GRACE, close, drain};

/// SockJS's close for a session its server ends.
pub(super) const GO_AWAY: (u16, &str) = (3000, "Go away!");

/// Messages queued each way between a SockJS session and its STOMP
/// connection.
const QUEUE: usize = 1024;

type Ws = super::upgrade::ServerWs;

/// The client's end: a WebSocket carrying STOMP frames, or a SockJS
/// session (its messages are STOMP frames).
pub(crate) enum Peer {
    Ws(Box<Ws>),
    SockJs(Channel),
}

pub(super) enum Recv {
    Data(Bytes),
    Gone(String),
}

pub(super) enum SendError {
    /// SockJS carries text only.
    NotText,
    Gone(String),
}

impl Peer {
    /// The client's next message (a STOMP frame or part of one).
    pub(super) async fn recv(&mut self) -> Recv {
        match self {
            Peer::Ws(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => return Recv::Data(Bytes::from(t)),
                    Some(Ok(Message::Binary(b))) => return Recv::Data(b),
                    Some(Ok(Message::Close(_))) => return Recv::Gone("client closed".into()),
                    // tungstenite answers pings itself.
                    Some(Ok(_)) => {}
                    None => return Recv::Gone("client went away".into()),
                    Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                        return Recv::Gone("connection dropped without a close".into());
                    }
                    Some(Err(e)) => return Recv::Gone(format!("read error: {e}")),
                }
            },
            Peer::SockJs(ch) => match ch.inbound.recv().await {
                Some(m) => Recv::Data(Bytes::from(m)),
                None => Recv::Gone("SockJS session ended (no receiver for 5 s)".into()),
            },
        }
    }

    /// Queue one encoded frame (a message of its own, as brokers send).
    /// A client that takes nothing for [`SLOW_CLOSE_GRACE`] is gone: a
    /// write never waits on it longer (nor on the SockJS session's queue).
    pub(super) async fn feed(&mut self, frame: Vec<u8>) -> Result<(), SendError> {
        within(self.feed_unbounded(frame)).await
    }

    async fn feed_unbounded(&mut self, frame: Vec<u8>) -> Result<(), SendError> {
        match self {
            Peer::Ws(ws) => {
                let message = match String::from_utf8(frame) {
                    Ok(text) => Message::text(text),
                    Err(e) => Message::binary(e.into_bytes()),
                };
                ws.feed(message)
                    .await
                    .map_err(|e| SendError::Gone(format!("write error: {e}")))
            }
            Peer::SockJs(ch) => {
                let text = String::from_utf8(frame).map_err(|_| SendError::NotText)?;
                ch.outbound
                    .send(Outbound::Message(text))
                    .await
                    .map_err(|_| SendError::Gone("SockJS session ended".into()))
            }
        }
    }

    /// Write out what was fed, bounded as [`Peer::feed`] is.
    pub(super) async fn flush(&mut self) -> Result<(), SendError> {
        match self {
            Peer::Ws(ws) => {
                within(async {
                    ws.flush()
                        .await
                        .map_err(|e| SendError::Gone(format!("write error: {e}")))
                })
                .await
            }
            Peer::SockJs(_) => Ok(()),
        }
    }

    /// End the connection the way `end` asks; `bare` (`--chaos-drop-close`):
    /// without a close frame, the socket is just dropped.
    pub(super) async fn close(&mut self, end: &End, bare: bool) {
        match self {
            Peer::Ws(ws) => {
                let (code, reason) = match end {
                    End::Disconnect => (CloseCode::Normal, String::new()),
                    End::Error(why) => (CloseCode::Protocol, shorten(why)),
                    End::Shutdown(why) => (CloseCode::Away, why.to_string()),
                    End::Gone(_) => {
                        // Flushes the echo of a client's close.
                        drain(ws).await;
                        return;
                    }
                };
                if bare {
                    return;
                }
                let (mut sink, mut stream) = (&mut **ws).split();
                close(&mut sink, &mut stream, code, reason).await;
            }
            Peer::SockJs(ch) => {
                let (code, reason) = match end {
                    End::Disconnect | End::Error(_) => GO_AWAY,
                    End::Shutdown(why) => (1001, *why),
                    End::Gone(_) => return,
                };
                let _ = ch
                    .outbound
                    .send(Outbound::Close(code, reason.to_string()))
                    .await;
            }
        }
    }
}

/// A close reason fits in a control frame (123 bytes).
fn shorten(s: &str) -> String {
    let mut end = s.len().min(120);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Why a connection ended.
pub(super) enum End {
    /// The client sent DISCONNECT.
    Disconnect,
    /// We sent an ERROR frame.
    Error(String),
    /// The broker's shutdown or a chaos cut, as the reason says.
    Shutdown(&'static str),
    /// The client went away (or its transport broke).
    Gone(String),
}

/// What the STOMP connection sends to its session.
pub(crate) enum Outbound {
    Message(String),
    Close(u16, String),
}

/// The STOMP connection's end of a session.
pub(crate) struct Channel {
    pub inbound: mpsc::Receiver<String>,
    pub outbound: mpsc::Sender<Outbound>,
}

impl Channel {
    /// A channel, and the session's ends of it: where the client's
    /// messages go in, where the connection's frames come out.
    pub(super) fn new() -> (Channel, mpsc::Sender<String>, mpsc::Receiver<Outbound>) {
        let (in_tx, inbound) = mpsc::channel(QUEUE);
        let (outbound, out_rx) = mpsc::channel(QUEUE);
        (Channel { inbound, outbound }, in_tx, out_rx)
    }
}

/// `write`, or the client gone once it has taken nothing for
/// [`SLOW_CLOSE_GRACE`].
async fn within(
    write: impl std::future::Future<Output = Result<(), SendError>>,
) -> Result<(), SendError> {
    tokio::time::timeout(SLOW_CLOSE_GRACE, write)
        .await
        .unwrap_or_else(|_| {
            Err(SendError::Gone(format!(
                "client took nothing for {}s",
                SLOW_CLOSE_GRACE.as_secs()
            )))
        })
}
