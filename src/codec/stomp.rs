//! STOMP 1.2 frames: an encoder and an incremental decoder, no I/O; and
//! the vocabulary the client (`dialect::stomp`) and the broker
//! (`server::stomp`) share: the WebSocket subprotocols, ack modes and
//! heart-beat negotiation.
//!
//! ```text
//! COMMAND EOL *(name ":" value EOL) EOL body NUL *(EOL)
//! ```
//! Header names and values are escaped (`\\` `\n` `\r` `\c`) in every frame
//! but CONNECT and CONNECTED; a repeated header's first value wins; a body
//! is `content-length` octets (NULs allowed) or runs to the first NUL. EOLs
//! between frames are heart-beats. The decoder takes bytes in any split and
//! never panics: a broken frame is an error, an oversized one too.

use std::time::Duration;

use bytes::Bytes;

/// STOMP's WebSocket subprotocols, highest first: the client offers them
/// all (RabbitMQ picks the highest it knows; a server that picks none must
/// still work), and `pubcat serve` picks the highest the client offers.
pub(crate) const SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// How a subscription acknowledges messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AckMode {
    /// Delivered means consumed: the broker forgets a message once sent.
    Auto,
    /// Cumulative ACK: acknowledging one acknowledges all before it.
    Client,
    /// Each message acknowledged on its own.
    ClientIndividual,
}

impl AckMode {
    /// The value of a SUBSCRIBE frame's `ack` header.
    pub(crate) fn header(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }

    /// The mode an `ack` header names.
    pub(crate) fn from_header(value: &str) -> Option<AckMode> {
        [AckMode::Auto, AckMode::Client, AckMode::ClientIndividual]
            .into_iter()
            .find(|m| m.header() == value)
    }
}

/// `heart-beat: x,y` in ms; anything unparsable is 0 (off).
pub(crate) fn parse_heartbeat(value: &str) -> (u64, u64) {
    let mut parts = value.split(',').map(|p| p.trim().parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The heart-beats one side sends and expects, from its own `heart-beat`
/// header and the other side's (spec 1.2: each direction is the larger of
/// what the sender can do and the receiver wants, off if either says 0).
pub(crate) fn negotiate_heartbeat(
    (our_x, our_y): (u64, u64),
    (their_x, their_y): (u64, u64),
) -> (Option<Duration>, Option<Duration>) {
    let period = |can: u64, wants: u64| {
        (can != 0 && wants != 0).then(|| Duration::from_millis(can.max(wants)))
    };
    (period(our_x, their_y), period(their_x, our_y))
}

/// One STOMP frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub command: String,
    /// In wire order; repeated names are kept (the first one counts).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Frame {
    pub fn new(command: &str) -> Frame {
        Frame {
            command: command.to_string(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Frame {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: Bytes) -> Frame {
        self.body = body;
        self
    }

    /// The header's value; the first occurrence wins, as the spec says.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Append the frame's bytes to `out`. A `content-length` is added when
    /// there is a body and none was given, so bodies may hold NULs.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let escape = escapes(&self.command);
        out.reserve(self.command.len() + self.body.len() + 64);
        out.extend_from_slice(self.command.as_bytes());
        out.push(b'\n');
        for (name, value) in &self.headers {
            put(out, name, escape);
            out.push(b':');
            put(out, value, escape);
            out.push(b'\n');
        }
        if !self.body.is_empty() && self.get("content-length").is_none() {
            out.extend_from_slice(b"content-length:");
            out.extend_from_slice(self.body.len().to_string().as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(0);
    }
}

/// CONNECT and CONNECTED headers are never escaped (1.0 compatibility).
fn escapes(command: &str) -> bool {
    !matches!(command, "CONNECT" | "CONNECTED")
}

fn put(out: &mut Vec<u8>, s: &str, escape: bool) {
    if !escape {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b':' => out.extend_from_slice(b"\\c"),
            _ => out.push(b),
        }
    }
}

/// What the decoder yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Frame(Frame),
    /// A bare EOL between frames.
    HeartBeat,
}

/// Why bytes are not a STOMP frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("a frame is larger than {0} bytes")]
    TooLarge(usize),
    #[error("header line `{0}` has no colon")]
    NoColon(String),
    #[error("undefined escape in header `{0}`")]
    BadEscape(String),
    #[error("content-length `{0}` is not a number")]
    BadContentLength(String),
    #[error("the body is not followed by a NUL")]
    NoNul,
    #[error("a command or header is not UTF-8")]
    NotUtf8,
    #[error("a frame has no command")]
    EmptyCommand,
}

/// An incremental decoder: [`Decoder::feed`] bytes as they come, then take
/// items with [`Decoder::decode_next`] until it says `Ok(None)`.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed by returned items.
    start: usize,
    /// How far from `start` the search for the end of the head got, so a
    /// frame arriving in small pieces is not rescanned from its start.
    scanned: usize,
    max_frame: usize,
    /// The head of a frame whose body is still arriving.
    head: Option<Head>,
    /// After an error the stream cannot be trusted again.
    failed: Option<DecodeError>,
}

#[derive(Debug)]
struct Head {
    command: String,
    headers: Vec<(String, String)>,
    /// Where the body starts, relative to `start`.
    body_at: usize,
    length: Option<usize>,
}

impl Decoder {
    pub fn new(max_frame: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            max_frame: max_frame.max(64),
            head: None,
            failed: None,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    pub fn decode_next(&mut self) -> Result<Option<Item>, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let item = self.decode();
        if let Err(e) = &item {
            self.failed = Some(e.clone());
        }
        item
    }

    fn decode(&mut self) -> Result<Option<Item>, DecodeError> {
        if self.head.is_none() {
            let rest = &self.buf[self.start..];
            // EOLs between frames: heart-beats.
            match rest.first() {
                None => return Ok(None),
                Some(b'\n') => {
                    self.consume(1);
                    return Ok(Some(Item::HeartBeat));
                }
                Some(b'\r') => match rest.get(1) {
                    None => return Ok(None),
                    Some(b'\n') => {
                        self.consume(2);
                        return Ok(Some(Item::HeartBeat));
                    }
                    Some(_) => return Err(DecodeError::EmptyCommand),
                },
                Some(_) => {}
            }
            let Some(head_len) = self.find_head_end() else {
                if self.buf.len() - self.start > self.max_frame {
                    return Err(DecodeError::TooLarge(self.max_frame));
                }
                return Ok(None);
            };
            self.head = Some(parse_head(&self.buf[self.start..self.start + head_len])?);
            let head = self.head.as_mut().expect("just set");
            head.body_at = head_len;
        }
        let head = self.head.as_ref().expect("a head");
        let body_start = self.start + head.body_at;
        let available = &self.buf[body_start..];
        let (body_len, frame_len) = match head.length {
            Some(n) => {
                if head.body_at + n + 1 > self.max_frame {
                    return Err(DecodeError::TooLarge(self.max_frame));
                }
                if available.len() < n + 1 {
                    return Ok(None);
                }
                if available[n] != 0 {
                    return Err(DecodeError::NoNul);
                }
                (n, head.body_at + n + 1)
            }
            None => match memchr::memchr(0, available) {
                Some(n) => (n, head.body_at + n + 1),
                None => {
                    if head.body_at + available.len() > self.max_frame {
                        return Err(DecodeError::TooLarge(self.max_frame));
                    }
                    return Ok(None);
                }
            },
        };
        let head = self.head.take().expect("a head");
        let body = Bytes::copy_from_slice(&self.buf[body_start..body_start + body_len]);
        self.consume(frame_len);
        Ok(Some(Item::Frame(Frame {
            command: head.command,
            headers: head.headers,
            body,
        })))
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
    }

    /// The length of the head (command and headers, up to and including
    /// the blank line), if it has all arrived.
    fn find_head_end(&mut self) -> Option<usize> {
        let rest = &self.buf[self.start..];
        // Resume two bytes back: the LF of a blank line `\n\r\n` may be
        // there, its end not yet arrived when we last looked.
        let from = self.scanned.saturating_sub(2);
        for i in memchr::memchr_iter(b'\n', &rest[from..]).map(|i| i + from) {
            // A blank line: LF LF or LF CR LF.
            let blank = match rest.get(i + 1) {
                Some(b'\n') => Some(i + 2),
                Some(b'\r') if rest.get(i + 2) == Some(&b'\n') => Some(i + 3),
                _ => None,
            };
            if blank.is_some() {
                return blank;
            }
        }
        self.scanned = rest.len();
        None
    }
}

fn parse_head(head: &[u8]) -> Result<Head, DecodeError> {
    let text = std::str::from_utf8(head).map_err(|_| DecodeError::NotUtf8)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let command = lines.next().unwrap_or_default();
    if command.is_empty() {
        return Err(DecodeError::EmptyCommand);
    }
    let escape = escapes(command);
    let mut headers = Vec::new();
    let mut length = None;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| DecodeError::NoColon(shorten(line)))?;
        let (name, value) = if escape {
            (unescape(name)?, unescape(value)?)
        } else {
            (name.to_string(), value.to_string())
        };
        if name == "content-length"
            && length.is_none()
            && !headers.iter().any(|(k, _)| k == "content-length")
        {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| DecodeError::BadContentLength(shorten(&value)))?,
            );
        }
        headers.push((name, value));
    }
    Ok(Head {
        command: command.to_string(),
        headers,
        body_at: 0,
        length,
    })
}

fn unescape(s: &str) -> Result<String, DecodeError> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('c') => out.push(':'),
            _ => return Err(DecodeError::BadEscape(shorten(s))),
        }
    }
    Ok(out)
}

fn shorten(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<Item>, DecodeError> {
        let mut d = Decoder::new(1 << 20);
        d.feed(bytes);
        let mut items = Vec::new();
        while let Some(item) = d.decode_next()? {
            items.push(item);
        }
        Ok(items)
    }

    fn frame(item: &Item) -> &Frame {
        match item {
            Item::Frame(f) => f,
            Item::HeartBeat => panic!("a heart-beat, not a frame"),
        }
    }

    #[test]
    fn heartbeat_headers_parse_leniently() {
        assert_eq!(parse_heartbeat("10000,5000"), (10000, 5000));
        assert_eq!(parse_heartbeat("0,0"), (0, 0));
        assert_eq!(parse_heartbeat("x"), (0, 0));
    }

    #[test]
    fn escapes_both_ways_but_not_in_connect() {
        let f = Frame::new("SEND").header("a:b", "x\ny\r\\z:");
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(out, b"SEND\na\\cb:x\\ny\\r\\\\z\\c\n\n\0");
        assert_eq!(frame(&decode_all(&out).unwrap()[0]), &f);

        let mut out = Vec::new();
        Frame::new("CONNECT")
            .header("passcode", "a\\b:c")
            .encode(&mut out);
        assert_eq!(out, b"CONNECT\npasscode:a\\b:c\n\n\0");
        let got = decode_all(b"CONNECTED\nserver:x\\y\n\n\0").unwrap();
        assert_eq!(frame(&got[0]).get("server"), Some("x\\y"));
    }

    #[test]
    fn content_length_bodies_hold_nuls() {
        let f = Frame::new("MESSAGE").body(Bytes::from_static(b"a\0b\0"));
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(out, b"MESSAGE\ncontent-length:4\n\na\0b\0\0");
        let got = decode_all(&out).unwrap();
        assert_eq!(&frame(&got[0]).body[..], b"a\0b\0");
    }

    #[test]
    fn heartbeats_between_frames_with_lf_and_crlf() {
        let got = decode_all(b"\n\r\nMESSAGE\r\nx:1\r\n\r\nhi\0\nRECEIPT\nreceipt-id:7\n\n\0\r\n")
            .unwrap();
        assert_eq!(got.len(), 6);
        assert_eq!(got[5], Item::HeartBeat);
        assert_eq!(got[0], Item::HeartBeat);
        assert_eq!(got[1], Item::HeartBeat);
        assert_eq!(frame(&got[2]).get("x"), Some("1"));
        assert_eq!(&frame(&got[2]).body[..], b"hi");
        assert_eq!(got[3], Item::HeartBeat);
        assert_eq!(frame(&got[4]).get("receipt-id"), Some("7"));
    }

    #[test]
    fn repeated_headers_first_wins() {
        let got = decode_all(b"MESSAGE\nfoo:1\nfoo:2\n\n\0").unwrap();
        assert_eq!(frame(&got[0]).get("foo"), Some("1"));
        assert_eq!(frame(&got[0]).headers.len(), 2);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let cases: [&[u8]; 6] = [
            b"MESSAGE\nno colon here\n\n\0",
            b"MESSAGE\nbad:\\t\n\n\0",
            b"MESSAGE\ncontent-length:x\n\n\0",
            b"MESSAGE\ncontent-length:2\n\nabc\0",
            b"MESSAGE\nk:\xff\n\n\0",
            b"\rX",
        ];
        for case in cases {
            assert!(decode_all(case).is_err(), "{case:?}");
        }
    }

    #[test]
    fn oversized_frames_are_refused_without_waiting_for_the_end() {
        let mut d = Decoder::new(100);
        d.feed(b"MESSAGE\n");
        d.feed(&[b'a'; 200]);
        assert_eq!(d.decode_next(), Err(DecodeError::TooLarge(100)));
        let mut d = Decoder::new(100);
        d.feed(b"MESSAGE\ncontent-length:1000\n\n");
        assert_eq!(d.decode_next(), Err(DecodeError::TooLarge(100)));
    }

    #[test]
    fn split_at_every_byte_gives_the_same_items() {
        let stream: &[u8] = b"\nCONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0\r\nMESSAGE\r\ndestination:/topic/a\\cb\r\ncontent-length:3\r\n\r\na\0b\0\nMESSAGE\nx:y\n\nplain\0\n";
        let want = decode_all(stream).unwrap();
        assert_eq!(want.len(), 7);
        for cut in 0..=stream.len() {
            let mut d = Decoder::new(1 << 20);
            let mut got = Vec::new();
            d.feed(&stream[..cut]);
            while let Some(i) = d.decode_next().unwrap() {
                got.push(i);
            }
            d.feed(&stream[cut..]);
            while let Some(i) = d.decode_next().unwrap() {
                got.push(i);
            }
            assert_eq!(got, want, "split at {cut}");
        }
        let mut d = Decoder::new(1 << 20);
        let mut got = Vec::new();
        for b in stream {
            d.feed(std::slice::from_ref(b));
            while let Some(i) = d.decode_next().unwrap() {
                got.push(i);
            }
        }
        assert_eq!(got, want, "one byte at a time");
    }

    const COMMANDS: [&str; 15] = [
        "SEND",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "BEGIN",
        "COMMIT",
        "ABORT",
        "ACK",
        "NACK",
        "DISCONNECT",
        "CONNECT",
        "STOMP",
        "CONNECTED",
        "MESSAGE",
        "RECEIPT",
        "ERROR",
    ];

    fn arb_frame() -> impl Strategy<Value = Frame> {
        (
            0..COMMANDS.len(),
            proptest::collection::vec(
                ("[a-z:\\\\\\r\\n -]{1,8}", "[a-z:\\\\\\r\\n é-]{0,12}"),
                0..5,
            ),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(c, headers, body)| {
                let command = COMMANDS[c];
                let mut f = Frame::new(command).body(Bytes::from(body));
                for (k, v) in headers {
                    // Unescaped (CONNECT) frames cannot carry these bytes.
                    let clean = |s: &str| -> String {
                        if escapes(command) {
                            s.to_string()
                        } else {
                            s.replace([':', '\n', '\r'], "_")
                        }
                    };
                    let k = clean(&k).replace("content-length", "c-l");
                    f = f.header(&k, &clean(&v));
                }
                f
            })
    }

    fn with_length(mut f: Frame) -> Frame {
        if !f.body.is_empty() {
            f.headers
                .push(("content-length".into(), f.body.len().to_string()));
        }
        f
    }

    proptest! {
        #[test]
        fn frames_round_trip(frames in proptest::collection::vec(arb_frame(), 1..5), cut in any::<prop::sample::Index>()) {
            let mut stream = Vec::new();
            for f in &frames {
                f.encode(&mut stream);
                stream.push(b'\n');
            }
            let cut = cut.index(stream.len() + 1);
            let mut d = Decoder::new(1 << 20);
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                d.feed(part);
                while let Some(item) = d.decode_next().unwrap() {
                    if let Item::Frame(f) = item {
                        got.push(f);
                    }
                }
            }
            let want: Vec<Frame> = frames.into_iter().map(with_length).collect();
            prop_assert_eq!(got, want);
        }
    }
}
