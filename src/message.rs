//! The one envelope every layer shares: transports and dialects produce it,
//! renderers and bench consume it.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

/// Short text kept inline: ids and event names arrive with every message,
/// and up to 24 bytes this costs neither an allocation nor (unlike a shared
/// buffer) an atomic reference count per copy. compact_str rather than
/// smol_str: it builds a short string in registers, where smol_str's byte
/// copy followed by a move stalled the CPU (a load spanning several
/// stores) on every id, a tenth of SSE receive time.
pub type Text = compact_str::CompactString;

/// A message as pubcat received it.
#[derive(Clone, Debug)]
pub struct Message {
    /// Topic or destination: the URL path for raw WebSocket and HTTP, the
    /// STOMP destination, the Socket.IO namespace.
    pub topic: Arc<str>,
    /// Event name where the protocol has one (SSE `event:`, Socket.IO event).
    pub event: Option<Text>,
    /// The server's id for the message, where it gives one (used to resume).
    pub id: Option<Text>,
    /// Protocol headers (STOMP frame headers, HTTP headers of a long-poll reply).
    pub headers: Vec<(String, String)>,
    /// The body, byte-exact.
    pub body: Bytes,
    /// True when the body arrived as binary (a WebSocket binary frame).
    pub binary: bool,
    /// When pubcat received it.
    pub received_at: SystemTime,
    /// The transport it came over: "ws", "wss", "sse", "poll", ...
    pub transport: &'static str,
}

impl Message {
    /// A message with just a topic, a body and a transport, received now.
    pub fn new(topic: Arc<str>, body: Bytes, binary: bool, transport: &'static str) -> Self {
        Self::received(topic, body, binary, transport, SystemTime::now())
    }

    /// The same, with the time it was received.
    pub fn received(
        topic: Arc<str>,
        body: Bytes,
        binary: bool,
        transport: &'static str,
        received_at: SystemTime,
    ) -> Self {
        Message {
            topic,
            event: None,
            id: None,
            headers: Vec::new(),
            body,
            binary,
            received_at,
            transport,
        }
    }
}
