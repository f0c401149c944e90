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
    pub body: Body,
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
            body: Body::from(body),
            binary,
            received_at,
            transport,
        }
    }
}

/// A message body: a range of the buffer it arrived in, shared rather than
/// copied.
///
/// Not a `Bytes` slice: every slice of a shared buffer takes a reference
/// (an atomic increment through a vtable) and every drop gives one back, and
/// for SSE, where one chunk holds thousands of short events, those two
/// atomics were a sixth of receive time. A body keeps the whole buffer and
/// a range of it, so pointing the next body into the same chunk
/// ([`Body::set_slice`]) only moves the range.
#[derive(Clone, Default)]
pub struct Body {
    buf: Bytes,
    start: usize,
    end: usize,
}

impl Body {
    pub const fn new() -> Body {
        Body {
            buf: Bytes::new(),
            start: 0,
            end: 0,
        }
    }

    /// Become `buf[start..end]`, taking a reference to `buf` only when it
    /// is not the buffer already held. Panics when the range is not inside
    /// `buf`, as slicing does.
    #[inline]
    pub fn set_slice(&mut self, buf: &Bytes, start: usize, end: usize) {
        assert!(start <= end && end <= buf.len(), "body range out of bounds");
        // The same pointer and length is the same live buffer: it cannot
        // have been freed and reused while `self.buf` holds it, and shared
        // bytes are never written.
        if self.buf.as_ptr() != buf.as_ptr() || self.buf.len() != buf.len() {
            self.buf = buf.clone();
        }
        self.start = start;
        self.end = end;
    }

    /// The body as `Bytes` of its own.
    pub fn to_bytes(&self) -> Bytes {
        self.buf.slice(self.start..self.end)
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Bytes> for Body {
    fn from(buf: Bytes) -> Body {
        let end = buf.len();
        Body { buf, start: 0, end }
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Body {}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_bytes(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_its_range_and_shares_its_buffer() {
        let chunk = Bytes::from_static(b"id: 1\ndata: one\n\nid: 2\ndata: two\n\n");
        let mut body = Body::new();
        assert!(body.is_empty());
        body.set_slice(&chunk, 12, 15);
        assert_eq!(&body[..], b"one");
        let held = body.buf.as_ptr();
        body.set_slice(&chunk, 29, 32);
        assert_eq!(&body[..], b"two");
        assert_eq!(body.buf.as_ptr(), held, "same chunk, same buffer");
        assert_eq!(body.to_bytes(), Bytes::from_static(b"two"));
        assert_eq!(body, Body::from(Bytes::from_static(b"two")));
        assert_eq!(format!("{body:?}"), "b\"two\"");

        // Another buffer is taken over; the same bytes elsewhere are equal.
        let other = Bytes::copy_from_slice(b"xtwo");
        body.set_slice(&other, 1, 4);
        assert_eq!(body.buf.as_ptr(), other.as_ptr());
        assert_eq!(body, Body::from(Bytes::from_static(b"two")));
        body.set_slice(&other, 4, 4);
        assert!(body.is_empty());
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn a_range_past_the_buffer_panics() {
        Body::new().set_slice(&Bytes::from_static(b"ab"), 1, 3);
    }
}
