//! The messages a two-way transport carries, shared by its two wires
//! (`ws.rs`, `sockjs.rs`) and by [`super::duplex::Duplex`] over them: a
//! file of their own, so neither wire imports the type that wraps it.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A message to send.
#[derive(Clone, Debug)]
pub enum Data {
    Text(Utf8Bytes),
    Binary(Bytes),
}

/// What arrived.
#[derive(Debug)]
pub enum Received {
    Text(Utf8Bytes),
    Binary(Bytes),
    /// The session ended; `clean` when the server said all is well (or
    /// when it answered our own close).
    Closed {
        reason: String,
        clean: bool,
    },
}
