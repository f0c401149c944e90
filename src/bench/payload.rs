//! The bench payload: a fixed-width ASCII header carrying who sent a
//! message, its sequence number and when it was due, padded to the
//! requested size. ASCII, so it passes unchanged through every transport and
//! protocol (a WebSocket text frame, an SSE `data:` line, a STOMP body, a
//! JSON string) and a subscriber can check each message without a schema.
//!
//! ```text
//! pcb m 0001 00000000002a 0000000005f5e100 ........
//! ^^^ ^ ^^^^ ^^^^^^^^^^^^ ^^^^^^^^^^^^^^^^ padding up to --size
//! magic kind publisher  sequence (12 hex)  due time, ns since publishing began (16 hex)
//! ```
//! (without the spaces). Kind `m` is a measured message, `p` a probe sent
//! before the run to learn that every subscriber is listening.
//!
//! With `--payload-file`, the user's payload is sent with the header
//! appended: at its very end, or, when the payload is a JSON object, as the
//! value of one more member, `"pubcat":"pcb…"`, so that it stays JSON for
//! a server that parses it. [`decode`] looks at the start, then the end.

use bytes::{Bytes, BytesMut};

/// The header's length: the smallest `--size`.
pub const HEADER: usize = 3 + 1 + 4 + 12 + 16;

const MAGIC: &[u8; 3] = b"pcb";
const PAD: u8 = b'.';
const HEX: &[u8; 16] = b"0123456789abcdef";

/// What a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Message,
    Probe,
}

/// A decoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub publisher: u16,
    pub seq: u64,
    /// When the message was due to be sent, in ns since publishing began
    /// (an instant all shards of a run share).
    pub due_ns: u64,
}

/// Builds payloads out of one growing arena, so a small message costs a
/// copy of the template and no allocation of its own (one per ~1,000
/// messages); a large one gets an arena to itself.
pub struct Writer {
    template: Vec<u8>,
    /// Where the header goes in the template.
    at: usize,
    arena: BytesMut,
    /// What each arena allocation holds: whole messages, at least one.
    arena_bytes: usize,
    publisher: u16,
}

/// Payloads carved per arena allocation, at the most.
const ARENA_MESSAGES: usize = 1024;

/// An arena's size, unless one message is larger: 1,024 messages of
/// `--size 100M` once asked for 100 GB up front, and the allocation failed.
const ARENA_BYTES: usize = 1 << 20;

/// The member a JSON object payload carries the header in.
const JSON_MEMBER: &[u8] = b"\"pubcat\":\"";

impl Writer {
    /// Messages of `size` bytes (at least [`HEADER`]), the header then
    /// padding; or the user's `payload` with the header appended.
    pub fn new(publisher: u16, size: usize, payload: Option<&[u8]>) -> Writer {
        let (template, at) = match payload {
            Some(user) => template_for(user),
            None => (vec![PAD; size.max(HEADER)], 0),
        };
        let size = template.len();
        let mut template = template;
        template[at..at + 3].copy_from_slice(MAGIC);
        Writer {
            template,
            at,
            arena: BytesMut::new(),
            arena_bytes: size * (ARENA_BYTES / size).clamp(1, ARENA_MESSAGES),
            publisher,
        }
    }

    pub fn payload(&mut self, kind: Kind, seq: u64, due_ns: u64) -> Bytes {
        let size = self.template.len();
        if self.arena.capacity() < size {
            self.arena = BytesMut::with_capacity(self.arena_bytes);
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(&self.template);
        let head = &mut self.arena[start + self.at..start + self.at + HEADER];
        head[3] = match kind {
            Kind::Message => b'm',
            Kind::Probe => b'p',
        };
        put_hex(&mut head[4..8], u64::from(self.publisher));
        put_hex(&mut head[8..20], seq);
        put_hex(&mut head[20..36], due_ns);
        self.arena.split_to(start + size).freeze()
    }
}

/// The user's payload with room for the header, and where it is: the
/// last member of a JSON object, or else the end.
fn template_for(user: &[u8]) -> (Vec<u8>, usize) {
    let trimmed = user.trim_ascii_end();
    let object = trimmed.trim_ascii_start().starts_with(b"{")
        && trimmed.ends_with(b"}")
        && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(trimmed).is_ok();
    if !object {
        let mut t = user.to_vec();
        t.resize(user.len() + HEADER, PAD);
        return (t, user.len());
    }
    let open = trimmed.len() - trimmed.trim_ascii_start().len();
    let inside = trimmed[open + 1..trimmed.len() - 1].trim_ascii();
    let mut t = trimmed[..trimmed.len() - 1].trim_ascii_end().to_vec();
    if !inside.is_empty() {
        t.push(b',');
    }
    t.extend_from_slice(JSON_MEMBER);
    let at = t.len();
    t.resize(at + HEADER, PAD);
    t.extend_from_slice(b"\"}");
    (t, at)
}

/// How many bytes a `--payload-file` payload of `user` becomes.
pub fn size_with(user: &[u8]) -> usize {
    template_for(user).0.len()
}

/// `v` as lowercase hex filling `out`, whose length is even: a byte, two
/// digits, at a time from a table (a digit at a time was most of the cost
/// of a payload).
fn put_hex(out: &mut [u8], mut v: u64) {
    for pair in out.rchunks_exact_mut(2) {
        pair.copy_from_slice(&HEX_PAIRS[(v & 0xff) as usize]);
        v >>= 8;
    }
}

/// The two hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    t
};

fn get_hex(s: &[u8]) -> Option<u64> {
    s.iter().try_fold(0u64, |n, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(n << 4 | u64::from(d))
    })
}

/// The header of a bench payload; None for anything else (another client's
/// traffic on the same topic, a mangled body).
pub fn decode(body: &[u8]) -> Option<Header> {
    if body.len() < HEADER {
        return None;
    }
    if &body[..3] == MAGIC
        && let Some(header) = decode_at(&body[..HEADER])
    {
        return Some(header);
    }
    // A user's payload: the header at the end, or inside `"…"}` there.
    let end = body.len();
    [end - HEADER, end.saturating_sub(HEADER + 2)]
        .into_iter()
        .find(|&at| body[at..].starts_with(MAGIC))
        .and_then(|at| decode_at(&body[at..at + HEADER]))
}

/// A header of exactly [`HEADER`] bytes.
fn decode_at(body: &[u8]) -> Option<Header> {
    let kind = match body[3] {
        b'm' => Kind::Message,
        b'p' => Kind::Probe,
        _ => return None,
    };
    Some(Header {
        kind,
        publisher: u16::try_from(get_hex(&body[4..8])?).ok()?,
        seq: get_hex(&body[8..20])?,
        due_ns: get_hex(&body[20..36])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user's payload keeps its bytes and carries the header at its end;
    /// a JSON object stays JSON, with the header as one more member.
    #[test]
    fn a_users_payload_carries_the_header_at_its_end() {
        for (user, json) in [
            (&b"plain text \x00\xff"[..], false),
            (b"{\"a\": [1, {\"b\": 2}]}\n", true),
            (b"{ }", true),
            (b"  {\"c\": 1} ", true),
            (b"pcb is how this one starts", false),
            (b"{not json}", false),
            (b"", false),
        ] {
            let mut w = Writer::new(3, 64, Some(user));
            let body = w.payload(Kind::Message, 42, 7);
            assert_eq!(body.len(), size_with(user));
            let h = decode(&body).unwrap_or_else(|| panic!("{body:?}"));
            assert_eq!((h.publisher, h.seq, h.due_ns), (3, 42, 7));
            if json {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert!(v["pubcat"].as_str().unwrap().starts_with("pcbm"), "{v}");
            } else {
                assert!(body.starts_with(user), "{body:?}");
            }
        }
    }

    #[test]
    fn hex_is_lowercase_and_zero_padded() {
        for v in [0u64, 1, 0xab, 0x1234_5678_9abc_def0, u64::MAX] {
            let mut out = [0u8; 16];
            put_hex(&mut out, v);
            assert_eq!(std::str::from_utf8(&out).unwrap(), format!("{v:016x}"));
            let mut out = [0u8; 4];
            put_hex(&mut out, v);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                format!("{:04x}", v & 0xffff)
            );
        }
    }

    #[test]
    fn payloads_round_trip_at_the_asked_size() {
        let mut w = Writer::new(7, 64, None);
        for seq in [0, 1, 0xfff, (1 << 48) - 1] {
            let p = w.payload(Kind::Message, seq, 123_456_789);
            assert_eq!(p.len(), 64);
            assert!(p.is_ascii());
            assert_eq!(
                decode(&p),
                Some(Header {
                    kind: Kind::Message,
                    publisher: 7,
                    seq,
                    due_ns: 123_456_789
                })
            );
        }
        let probe = Writer::new(0, HEADER, None).payload(Kind::Probe, 3, 0);
        assert_eq!(probe.len(), HEADER);
        assert_eq!(decode(&probe).map(|h| h.kind), Some(Kind::Probe));
    }

    #[test]
    fn an_arena_is_a_megabyte_or_one_message() {
        assert_eq!(Writer::new(0, 64, None).arena_bytes, 64 * 1024);
        assert_eq!(Writer::new(0, 4096, None).arena_bytes, 1 << 20);
        assert_eq!(Writer::new(0, 700_000, None).arena_bytes, 700_000);
        let mut w = Writer::new(0, 3 << 20, None);
        let p = w.payload(Kind::Message, 1, 2);
        assert_eq!((p.len(), decode(&p).map(|h| h.seq)), (3 << 20, Some(1)));
    }

    #[test]
    fn payloads_outlive_their_arena() {
        let mut w = Writer::new(1, 100, None);
        let all: Vec<Bytes> = (0..3000).map(|i| w.payload(Kind::Message, i, i)).collect();
        for (i, p) in all.iter().enumerate() {
            assert_eq!(decode(p).map(|h| h.seq), Some(i as u64));
        }
    }

    #[test]
    fn other_bodies_are_not_bench_messages() {
        for body in [
            &b""[..],
            b"hello",
            b"pcbm0001zzzzzzzzzzzz0000000000000000",
            b"xyzm000100000000002a0000000005f5e100",
            b"pcbq000100000000002a0000000005f5e100",
        ] {
            assert_eq!(decode(body), None, "{:?}", String::from_utf8_lossy(body));
        }
    }
}
