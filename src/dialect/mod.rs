//! Dialects: the protocols spoken over a transport. Raw messages need no
//! state and live in the session; STOMP and Socket.IO are client state
//! machines here.

pub mod mqtt;
pub mod nats;
pub mod socketio;
pub mod stomp;

use crate::message::Message;

/// What one read of a dialect client over a [`Duplex`](crate::transport::duplex::Duplex)
/// gave (STOMP, MQTT, NATS).
pub enum Incoming {
    Message(Message),
    Closed { reason: String, clean: bool },
}

/// The protocol spoken over the transport, with its settings. Decided once
/// from the flags (`commands::connection`), beside the transport's own
/// options, which know no protocol.
#[derive(Clone, Debug, Default)]
pub enum Dialect {
    /// Each transport message is one message.
    #[default]
    Raw,
    /// Raw messages with ids where the WebSocket server speaks Nchan's
    /// `ws+meta.nchan` subprotocol (`pubcat serve` does): what a resuming
    /// `tail` needs. Raw where it does not.
    RawWithIds,
    Stomp(stomp::StompOptions),
    Mqtt(mqtt::MqttOptions),
    Nats(nats::NatsOptions),
    SocketIo(socketio::SocketIoOptions),
}

/// A protocol that travels as a byte stream cut into WebSocket frames
/// (MQTT, NATS): what `next_unit` found.
pub(crate) enum Unit<T> {
    Decoded(T),
    /// The server closed the WebSocket.
    Closed {
        reason: String,
        clean: bool,
    },
}

/// How such a protocol names itself in errors, and whether it may come in
/// text frames (NATS may; MQTT is binary only).
pub(crate) struct Stream<'a> {
    /// "MQTT packet", "NATS operation".
    pub unit: &'a str,
    /// For a text frame where only binary is allowed: why not.
    pub binary_only: Option<&'a str>,
}

/// The next unit `decode` finds in `buf` (what has arrived and not been
/// decoded), reading more frames from `link` as it needs them; a unit may
/// span frames and a frame hold several. Cancel-safe: what was read stays
/// in `buf`. A malformed unit, or a text frame where only binary is
/// allowed, is the server's error, named by `url`.
pub(crate) async fn next_unit<T, E: std::fmt::Display>(
    link: &mut crate::transport::duplex::Duplex,
    buf: &mut bytes::BytesMut,
    url: &url::Url,
    stream: &Stream<'_>,
    decode: impl Fn(&[u8]) -> std::result::Result<Option<(T, usize)>, E>,
) -> crate::error::Result<Unit<T>> {
    use crate::error::Error;
    use crate::transport::duplex::Received;
    loop {
        match decode(buf) {
            Ok(Some((unit, used))) => {
                bytes::Buf::advance(buf, used);
                return Ok(Unit::Decoded(unit));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(Error::server(format!(
                    "{} sent a malformed {}: {e}",
                    crate::log::redact_url(url),
                    stream.unit
                )));
            }
        }
        match link.next().await? {
            Received::Binary(b) => buf.extend_from_slice(&b),
            Received::Text(t) => match stream.binary_only {
                None => buf.extend_from_slice(t.as_bytes()),
                Some(why) => {
                    return Err(Error::server(format!(
                        "{} sent a text frame ({} bytes): {why}",
                        crate::log::redact_url(url),
                        t.len()
                    )));
                }
            },
            Received::Closed { reason, clean } => return Ok(Unit::Closed { reason, clean }),
        }
    }
}
