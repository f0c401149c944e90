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
