//! SockJS framing, both directions, no I/O.
//!
//! Server to client, one frame per WebSocket message or per line of an
//! xhr / xhr_streaming response body:
//!
//! ```text
//! o                     the session is open (always the first frame)
//! h                     heartbeat
//! a["m1","m2"]          messages: a JSON array of strings
//! c[3000,"Go away!"]    closed, with a code and a reason
//! ```
//!
//! Client to server: a JSON array of strings (`["m1","m2"]`; `[]` is
//! allowed). Strings are written with the escapes sockjs-client and
//! sockjs-node use, so characters that some proxies and old browsers
//! mangle (U+2028, U+FEFF, …) travel as `\uXXXX`.

use std::time::Duration;

/// How often an idle server sends `h`: sockjs-node's and Spring's default,
/// and the embedded broker's (`--sockjs-heartbeat` says "25s" beside it).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(25);

/// One server frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Open,
    Heartbeat,
    Messages(Vec<String>),
    Close { code: u16, reason: String },
}

/// Why bytes are not a SockJS frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("an empty frame")]
    Empty,
    /// The first byte is none of `o h a c`.
    #[error("a frame of unknown type {}", shown_type(*.0))]
    UnknownType(u8),
    /// `o` or `h` followed by more bytes.
    #[error("an `{0}` frame with bytes after it")]
    Trailing(char),
    /// The JSON after `a` or `c` is not what the frame needs.
    #[error("a broken `{frame}` frame: {why}")]
    BadJson { frame: char, why: String },
    /// A line of an xhr response body longer than the limit.
    #[error("a frame larger than {0} bytes")]
    TooLarge(usize),
}

/// A frame type byte as a reader wants it: the character, or its hex.
fn shown_type(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

/// Decode one frame (without its trailing newline, if it had one).
pub fn decode(frame: &[u8]) -> Result<Frame, DecodeError> {
    let (&kind, rest) = frame.split_first().ok_or(DecodeError::Empty)?;
    match kind {
        b'o' | b'h' if !rest.is_empty() => Err(DecodeError::Trailing(kind as char)),
        b'o' => Ok(Frame::Open),
        b'h' => Ok(Frame::Heartbeat),
        b'a' => serde_json::from_slice::<Vec<String>>(rest)
            .map(Frame::Messages)
            .map_err(|e| bad_json('a', e)),
        b'c' => {
            let (code, reason) =
                serde_json::from_slice::<(u16, String)>(rest).map_err(|e| bad_json('c', e))?;
            Ok(Frame::Close { code, reason })
        }
        other => Err(DecodeError::UnknownType(other)),
    }
}

fn bad_json(frame: char, e: serde_json::Error) -> DecodeError {
    DecodeError::BadJson {
        frame,
        why: e.to_string(),
    }
}

/// Append a server frame (no newline) to `out`.
pub fn encode(frame: &Frame, out: &mut String) {
    match frame {
        Frame::Open => out.push('o'),
        Frame::Heartbeat => out.push('h'),
        Frame::Messages(messages) => {
            out.push('a');
            let mut batch = Batch::default();
            for m in messages {
                batch.push(m);
            }
            out.push_str(&batch.take());
        }
        Frame::Close { code, reason } => {
            out.push_str("c[");
            out.push_str(&code.to_string());
            out.push(',');
            write_string(out, reason);
            out.push(']');
        }
    }
}

/// Messages gathered into one JSON array of strings: a client's send, or
/// the body of a server's `a` frame.
#[derive(Debug, Default)]
pub struct Batch {
    buf: String,
    count: usize,
}

impl Batch {
    pub fn push(&mut self, message: &str) {
        self.buf.push(if self.count == 0 { '[' } else { ',' });
        write_string(&mut self.buf, message);
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of the array so far.
    pub fn size(&self) -> usize {
        self.buf.len() + 1
    }

    /// The array (`[]` when empty), leaving the batch empty.
    pub fn take(&mut self) -> String {
        let mut out = std::mem::take(&mut self.buf);
        if self.count == 0 {
            out.push('[');
        }
        out.push(']');
        self.count = 0;
        out
    }
}

/// Decode what a client sent (a WebSocket message or an xhr_send body): a
/// JSON array of strings. sockjs-node also takes a bare JSON string, so
/// this does too; an empty body is no messages.
pub fn decode_client(body: &[u8]) -> Result<Vec<String>, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<ClientBody>(body) {
        Ok(ClientBody::Many(v)) => Ok(v),
        Ok(ClientBody::One(s)) => Ok(vec![s]),
        Err(e) => Err(DecodeError::BadJson {
            frame: '[',
            why: e.to_string(),
        }),
    }
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ClientBody {
    Many(Vec<String>),
    One(String),
}

/// Characters SockJS sends as `\uXXXX`: JSON's control characters and
/// those that proxies or JavaScript engines treat specially (the set of
/// sockjs-client's `escape.quote`).
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{ad}' | '\u{600}'..='\u{604}'
        | '\u{70f}' | '\u{17b4}' | '\u{17b5}' | '\u{200c}'..='\u{200f}'
        | '\u{2028}'..='\u{202f}' | '\u{2060}'..='\u{206f}' | '\u{feff}'
        | '\u{fff0}'..='\u{ffff}')
}

/// `s` as a JSON string literal, with SockJS's escapes.
fn write_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.reserve(s.len() + 2);
    out.push('"');
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if needs_escape(c) => None,
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        match escape {
            Some(e) => out.push_str(e),
            // Writing to a String cannot fail.
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        plain = i + c.len_utf8();
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Frames from a byte stream of newline-terminated frames (an xhr or
/// xhr_streaming response body). The xhr_streaming prelude, a line of
/// 2048 `h`, counts as a heartbeat.
#[derive(Debug)]
pub struct LineDecoder {
    buf: Vec<u8>,
    start: usize,
    max: usize,
}

impl LineDecoder {
    pub fn new(max: usize) -> LineDecoder {
        LineDecoder {
            buf: Vec::new(),
            start: 0,
            max: max.max(4096),
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame; `Ok(None)` until one has fully arrived.
    /// Blank lines are skipped.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        loop {
            let rest = &self.buf[self.start..];
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                if rest.len() > self.max {
                    return Err(DecodeError::TooLarge(self.max));
                }
                return Ok(None);
            };
            let line = &rest[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.start += nl + 1;
            if line.is_empty() {
                continue;
            }
            if line.len() > 1 && line.iter().all(|&b| b == b'h') {
                return Ok(Some(Frame::Heartbeat));
            }
            return decode(line).map(Some);
        }
    }

    /// True when bytes of an unfinished frame are waiting.
    pub fn has_partial(&self) -> bool {
        self.start < self.buf.len()
    }
}

/// What a close code means to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseKind {
    /// 1000, 1001 and 3000 (sockjs-node's and Spring's "Go away!"): the
    /// application ended the session on purpose.
    Clean,
    /// 1002 "Connection interrupted": the session was lost.
    Lost,
    /// 2010 "Another connection still open", and every other code.
    Refused,
}

pub fn close_kind(code: u16) -> CloseKind {
    match code {
        1000 | 1001 | 3000 => CloseKind::Clean,
        1002 => CloseKind::Lost,
        _ => CloseKind::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_the_four_frame_types() {
        assert_eq!(decode(b"o"), Ok(Frame::Open));
        assert_eq!(decode(b"h"), Ok(Frame::Heartbeat));
        assert_eq!(
            decode(br#"a["a","b\"c\u2028",""]"#),
            Ok(Frame::Messages(vec![
                "a".into(),
                "b\"c\u{2028}".into(),
                "".into()
            ]))
        );
        assert_eq!(
            decode(br#"c[3000,"Go away!"]"#),
            Ok(Frame::Close {
                code: 3000,
                reason: "Go away!".into()
            })
        );
    }

    #[test]
    fn broken_frames_are_errors() {
        assert_eq!(decode(b""), Err(DecodeError::Empty));
        assert_eq!(decode(b"x"), Err(DecodeError::UnknownType(b'x')));
        assert_eq!(decode(b"oo"), Err(DecodeError::Trailing('o')));
        for bad in [
            &b"a"[..],
            b"a[1]",
            b"a[\"x\"",
            b"a{}",
            b"c[70000,\"x\"]",
            b"c[\"x\",1]",
            b"c[1]",
            b"a[\"\\ud800\"]",
        ] {
            assert!(
                matches!(decode(bad), Err(DecodeError::BadJson { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn strings_get_sockjs_escapes() {
        let mut b = Batch::default();
        assert_eq!(b.take(), "[]");
        b.push("plain");
        b.push("q\"b\\n\nt\t\u{0}\u{2028}\u{feff}é✓😀");
        assert_eq!(b.len(), 2);
        let out = b.take();
        assert_eq!(out, r#"["plain","q\"b\\n\nt\t\u0000\u2028\ufeffé✓😀"]"#);
        assert!(b.is_empty());
        assert_eq!(
            decode_client(out.as_bytes()).unwrap(),
            vec!["plain", "q\"b\\n\nt\t\u{0}\u{2028}\u{feff}é✓😀"]
        );
        let mut out = String::new();
        encode(
            &Frame::Close {
                code: 2010,
                reason: "Another connection still open".into(),
            },
            &mut out,
        );
        assert_eq!(out, r#"c[2010,"Another connection still open"]"#);
    }

    #[test]
    fn client_bodies_are_arrays_or_a_bare_string() {
        assert_eq!(decode_client(b"[\"a\",\"b\"]").unwrap(), vec!["a", "b"]);
        assert_eq!(decode_client(b"\"a\"").unwrap(), vec!["a"]);
        assert_eq!(decode_client(b"[]").unwrap(), Vec::<String>::new());
        assert_eq!(decode_client(b"").unwrap(), Vec::<String>::new());
        assert!(decode_client(b"[1]").is_err());
        assert!(decode_client(b"[\"a\"").is_err());
    }

    #[test]
    fn lines_with_the_streaming_prelude_and_split_anywhere() {
        let mut stream = vec![b'h'; 2048];
        stream.extend_from_slice(b"\no\nh\r\n\na[\"x\\ny\"]\nc[3000,\"Go away!\"]\n");
        let want = vec![
            Frame::Heartbeat,
            Frame::Open,
            Frame::Heartbeat,
            Frame::Messages(vec!["x\ny".into()]),
            Frame::Close {
                code: 3000,
                reason: "Go away!".into(),
            },
        ];
        for cut in [0, 1, 2047, 2048, 2049, 2050, stream.len() - 3, stream.len()] {
            let mut d = LineDecoder::new(1 << 20);
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                d.feed(part);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, want, "cut at {cut}");
            assert!(!d.has_partial());
        }
        let mut d = LineDecoder::new(4096);
        d.feed(&[b'a'; 5000]);
        assert_eq!(d.next_frame(), Err(DecodeError::TooLarge(4096)));
    }

    #[test]
    fn close_codes_map_to_outcomes() {
        assert_eq!(close_kind(3000), CloseKind::Clean);
        assert_eq!(close_kind(1000), CloseKind::Clean);
        assert_eq!(close_kind(1002), CloseKind::Lost);
        assert_eq!(close_kind(2010), CloseKind::Refused);
        assert_eq!(close_kind(4000), CloseKind::Refused);
    }

    proptest! {
        #[test]
        fn message_frames_round_trip(messages in proptest::collection::vec(any::<String>(), 0..6)) {
            let frame = Frame::Messages(messages.clone());
            let mut out = String::new();
            encode(&frame, &mut out);
            prop_assert_eq!(decode(out.as_bytes()), Ok(frame));
            // What a client sends decodes the same on the server side, and
            // serde_json reads it as the same strings.
            let mut batch = Batch::default();
            for m in &messages {
                batch.push(m);
            }
            let body = batch.take();
            prop_assert_eq!(decode_client(body.as_bytes()).unwrap(), messages.clone());
            prop_assert_eq!(serde_json::from_str::<Vec<String>>(&body).unwrap(), messages);
        }

        #[test]
        fn close_frames_round_trip(code in any::<u16>(), reason in any::<String>()) {
            let frame = Frame::Close { code, reason };
            let mut out = String::new();
            encode(&frame, &mut out);
            prop_assert_eq!(decode(out.as_bytes()), Ok(frame));
        }

        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
            let _ = decode_client(&bytes);
            let mut d = LineDecoder::new(4096);
            d.feed(&bytes);
            while let Ok(Some(_)) = d.next_frame() {}
        }
    }
}
