//! Dialects: the protocols spoken over a transport. Raw messages need no
//! state and live in the session; STOMP and Socket.IO are client state
//! machines here.

pub mod socketio;
pub mod stomp;

/// The protocol spoken over the transport, with its settings. Decided once
/// from the flags (`commands::connection`), beside the transport's own
/// options, which know no protocol.
#[derive(Clone, Debug, Default)]
pub enum Dialect {
    /// Each transport message is one message.
    #[default]
    Raw,
    Stomp(stomp::StompOptions),
    SocketIo(socketio::SocketIoOptions),
}
