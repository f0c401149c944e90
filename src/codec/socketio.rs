//! Socket.IO v5 packets, carried in Engine.IO message packets. No I/O.
//!
//! ```text
//! packet = type-digit [attachments "-"] [namespace ","] [ack-id] [JSON]
//! ```
//! | type | name | payload |
//! |---|---|---|
//! | 0 | CONNECT | client: optional auth object; server: `{"sid":…}` |
//! | 1 | DISCONNECT | none |
//! | 2 | EVENT | `["name", arg…]` |
//! | 3 | ACK | `[arg…]`, with the ack id of the EVENT it answers |
//! | 4 | CONNECT_ERROR | `{"message":…, "data"?:…}` (or a string) |
//! | 5 | BINARY_EVENT | like EVENT, binary args as `{"_placeholder":true,"num":N}` |
//! | 6 | BINARY_ACK | like ACK, with placeholders |
//!
//! The namespace is written only when it is not `/`; the attachments of a
//! binary packet follow it as separate Engine.IO binary messages, in `num`
//! order ([`Reassembler`] puts them back together). Arguments are kept as
//! the exact JSON text the peer sent ([`RawValue`]), so nothing is lost or
//! reformatted on the way to stdout. The rules for a valid payload are
//! those of the reference decoder (socket.io-parser 4).

use std::fmt;

use bytes::Bytes;
use serde_json::value::RawValue;

/// `[a,b,…]`: arguments as one JSON array, each exactly as it was sent.
pub fn push_json_array(out: &mut String, args: &[Box<RawValue>]) {
    out.push('[');
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(a.get());
    }
    out.push(']');
}

/// The packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl Kind {
    fn digit(self) -> char {
        match self {
            Kind::Connect => '0',
            Kind::Disconnect => '1',
            Kind::Event => '2',
            Kind::Ack => '3',
            Kind::ConnectError => '4',
            Kind::BinaryEvent => '5',
            Kind::BinaryAck => '6',
        }
    }

    fn from_digit(b: u8) -> Option<Kind> {
        Some(match b {
            b'0' => Kind::Connect,
            b'1' => Kind::Disconnect,
            b'2' => Kind::Event,
            b'3' => Kind::Ack,
            b'4' => Kind::ConnectError,
            b'5' => Kind::BinaryEvent,
            b'6' => Kind::BinaryAck,
            _ => return None,
        })
    }

    pub fn is_binary(self) -> bool {
        matches!(self, Kind::BinaryEvent | Kind::BinaryAck)
    }
}

/// What a packet carries after its header.
#[derive(Clone, Debug)]
pub enum Payload {
    /// DISCONNECT, and a CONNECT without auth.
    None,
    /// CONNECT's object (auth, or the server's `{"sid":…}`), CONNECT_ERROR's
    /// error object or string.
    Value(Box<RawValue>),
    /// EVENT, BINARY_EVENT: the event name and the arguments.
    Event {
        name: String,
        args: Vec<Box<RawValue>>,
    },
    /// ACK, BINARY_ACK: the arguments.
    Ack(Vec<Box<RawValue>>),
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        fn same(a: &[Box<RawValue>], b: &[Box<RawValue>]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.get() == y.get())
        }
        match (self, other) {
            (Payload::None, Payload::None) => true,
            (Payload::Value(a), Payload::Value(b)) => a.get() == b.get(),
            (Payload::Event { name: n, args: a }, Payload::Event { name: m, args: b }) => {
                n == m && same(a, b)
            }
            (Payload::Ack(a), Payload::Ack(b)) => same(a, b),
            _ => false,
        }
    }
}

/// One Socket.IO packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    pub kind: Kind,
    /// `/` unless the packet names another namespace.
    pub namespace: String,
    /// An EVENT's request for an acknowledgement, or the EVENT an ACK answers.
    pub id: Option<u64>,
    /// BINARY_EVENT, BINARY_ACK: how many binary attachments follow.
    pub attachments: usize,
    pub payload: Payload,
}

/// The event names the reference client refuses to receive or send.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// More attachments than this on one packet is taken for garbage (the
/// reference parser allows 10 by default).
pub const MAX_ATTACHMENTS: usize = 1000;

/// Why a string is not a Socket.IO packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("a Socket.IO packet that is not UTF-8")]
    NotUtf8,
    #[error("unknown Socket.IO packet type `{0}`")]
    UnknownType(String),
    #[error("a bad attachment count")]
    BadAttachments,
    #[error("an ack id that is too large")]
    BadAckId,
    #[error("a payload that is not JSON ({0})")]
    BadJson(String),
    /// The JSON is fine but not what this packet type carries.
    #[error("a payload that is not {0}")]
    BadPayload(&'static str),
    #[error("the reserved event name `{0}`")]
    ReservedEvent(String),
    /// A binary attachment arrived when no binary packet wanted one.
    #[error("a binary attachment no packet was waiting for")]
    StrayAttachment,
}

impl Packet {
    /// A packet with no payload.
    pub fn new(kind: Kind, namespace: &str) -> Packet {
        Packet {
            kind,
            namespace: namespace.to_string(),
            id: None,
            attachments: 0,
            payload: Payload::None,
        }
    }

    /// Append the text form to `out`.
    pub fn encode(&self, out: &mut String) {
        use fmt::Write as _;
        out.push(self.kind.digit());
        if self.kind.is_binary() {
            let _ = write!(out, "{}-", self.attachments);
        }
        if self.namespace != "/" && !self.namespace.is_empty() {
            out.push_str(&self.namespace);
            out.push(',');
        }
        if let Some(id) = self.id {
            let _ = write!(out, "{id}");
        }
        match &self.payload {
            Payload::None => {}
            Payload::Value(v) => out.push_str(v.get()),
            Payload::Event { name, args } => {
                out.push('[');
                push_json_string(out, name);
                for a in args {
                    out.push(',');
                    out.push_str(a.get());
                }
                out.push(']');
            }
            Payload::Ack(args) => push_json_array(out, args),
        }
    }

    /// Decode the text form; attachments (for binary packets) come apart.
    pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
        let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)?;
        let b = s.as_bytes();
        let kind = b
            .first()
            .and_then(|&d| Kind::from_digit(d))
            .ok_or_else(|| DecodeError::UnknownType(s.chars().take(1).collect()))?;
        let mut i = 1;
        let mut attachments = 0;
        if kind.is_binary() {
            let dash = b[i..]
                .iter()
                .position(|&c| c == b'-')
                .ok_or(DecodeError::BadAttachments)?;
            let digits = &s[i..i + dash];
            attachments = digits
                .parse::<usize>()
                .ok()
                .filter(|n| {
                    (1..=MAX_ATTACHMENTS).contains(n) && digits.bytes().all(|c| c.is_ascii_digit())
                })
                .ok_or(DecodeError::BadAttachments)?;
            i += dash + 1;
        }
        let mut namespace = String::from("/");
        if b.get(i) == Some(&b'/') {
            let end = b[i..]
                .iter()
                .position(|&c| c == b',')
                .map_or(b.len(), |p| i + p);
            namespace = s[i..end].to_string();
            // Skip the comma too, when there is one.
            i = (end + 1).min(b.len());
        }
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let id = if digits > 0 {
            let id = s[i..i + digits]
                .parse::<u64>()
                .map_err(|_| DecodeError::BadAckId)?;
            i += digits;
            Some(id)
        } else {
            None
        };
        let json = &s[i..];
        let payload = if json.is_empty() {
            if matches!(kind, Kind::Event | Kind::BinaryEvent) {
                return Err(DecodeError::BadPayload("an event array"));
            }
            if matches!(kind, Kind::Ack | Kind::BinaryAck | Kind::ConnectError) {
                return Err(DecodeError::BadPayload("an array or error"));
            }
            Payload::None
        } else {
            decode_payload(kind, json)?
        };
        Ok(Packet {
            kind,
            namespace,
            id,
            attachments,
            payload,
        })
    }
}

fn decode_payload(kind: Kind, json: &str) -> Result<Payload, DecodeError> {
    let bad_json = |e: serde_json::Error| DecodeError::BadJson(e.to_string());
    match kind {
        Kind::Connect | Kind::ConnectError => {
            let raw: Box<RawValue> = serde_json::from_str(json).map_err(bad_json)?;
            let first = raw.get().as_bytes().first().copied();
            match (kind, first) {
                (_, Some(b'{')) => {}
                (Kind::ConnectError, Some(b'"')) => {}
                (Kind::Connect, _) => return Err(DecodeError::BadPayload("an object")),
                _ => return Err(DecodeError::BadPayload("an error object or string")),
            }
            Ok(Payload::Value(raw))
        }
        Kind::Disconnect => Err(DecodeError::BadPayload("empty")),
        Kind::Event | Kind::BinaryEvent => {
            let mut args = array(json)?;
            if args.is_empty() {
                return Err(DecodeError::BadPayload("an event array"));
            }
            let first = args.remove(0);
            let name = match first.get().as_bytes().first() {
                Some(b'"') => serde_json::from_str::<String>(first.get()).map_err(bad_json)?,
                Some(b'-' | b'0'..=b'9') => first.get().to_string(),
                _ => return Err(DecodeError::BadPayload("an event array with a name first")),
            };
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return Err(DecodeError::ReservedEvent(name));
            }
            Ok(Payload::Event { name, args })
        }
        Kind::Ack | Kind::BinaryAck => Ok(Payload::Ack(array(json)?)),
    }
}

fn array(json: &str) -> Result<Vec<Box<RawValue>>, DecodeError> {
    serde_json::from_str::<Vec<Box<RawValue>>>(json).map_err(|e| {
        if serde_json::from_str::<&RawValue>(json).is_ok() {
            DecodeError::BadPayload("an array")
        } else {
            DecodeError::BadJson(e.to_string())
        }
    })
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a &str cannot fail.
    if let Ok(quoted) = serde_json::to_string(s) {
        out.push_str(&quoted);
    }
}

/// A JSON string argument. (Serialising a string cannot fail; the default
/// is never used.)
pub fn string_arg(s: &str) -> Box<RawValue> {
    serde_json::value::to_raw_value(s).unwrap_or_default()
}

/// The placeholder that stands for attachment `num` in a binary packet.
pub fn placeholder(num: usize) -> Box<RawValue> {
    RawValue::from_string(format!(r#"{{"_placeholder":true,"num":{num}}}"#)).unwrap_or_default()
}

/// The attachment number when `arg` is exactly a placeholder.
pub fn placeholder_num(arg: &RawValue) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Placeholder {
        #[serde(rename = "_placeholder")]
        placeholder: bool,
        num: usize,
    }
    let text = arg.get();
    if !text.starts_with('{') || !text.contains("_placeholder") {
        return None;
    }
    let p: Placeholder = serde_json::from_str(text).ok()?;
    p.placeholder.then_some(p.num)
}

/// A packet with its binary attachments, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub packet: Packet,
    pub attachments: Vec<Bytes>,
}

/// Puts binary packets back together: a BINARY_EVENT or BINARY_ACK is
/// complete once its attachments (the Engine.IO binary messages after it)
/// are in.
#[derive(Debug, Default)]
pub struct Reassembler {
    pending: Option<Decoded>,
}

impl Reassembler {
    /// A text message. A binary packet whose attachments are still to come
    /// gives `None`; a text message while attachments are awaited is an
    /// error (the reference client drops the half-built packet the same way).
    pub fn text(&mut self, bytes: &[u8]) -> Result<Option<Decoded>, DecodeError> {
        if self.pending.take().is_some() {
            return Err(DecodeError::BadAttachments);
        }
        let packet = Packet::decode(bytes)?;
        if packet.kind.is_binary() {
            self.pending = Some(Decoded {
                attachments: Vec::with_capacity(packet.attachments.min(16)),
                packet,
            });
            return Ok(None);
        }
        Ok(Some(Decoded {
            packet,
            attachments: Vec::new(),
        }))
    }

    /// A binary message: the next attachment of the pending packet.
    pub fn binary(&mut self, bytes: Bytes) -> Result<Option<Decoded>, DecodeError> {
        let Some(pending) = self.pending.as_mut() else {
            return Err(DecodeError::StrayAttachment);
        };
        pending.attachments.push(bytes);
        if pending.attachments.len() < pending.packet.attachments {
            return Ok(None);
        }
        Ok(self.pending.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    fn encoded(p: &Packet) -> String {
        let mut out = String::new();
        p.encode(&mut out);
        out
    }

    #[test]
    fn the_protocol_examples_decode() {
        let p = Packet::decode(b"0").unwrap();
        assert_eq!(
            (p.kind, p.namespace.as_str(), &p.payload),
            (Kind::Connect, "/", &Payload::None)
        );
        let p = Packet::decode(br#"0/admin,{"token":"123"}"#).unwrap();
        assert_eq!(p.namespace, "/admin");
        assert_eq!(p.payload, Payload::Value(raw(r#"{"token":"123"}"#)));
        let p = Packet::decode(br#"2["hello","world"]"#).unwrap();
        assert_eq!(
            p.payload,
            Payload::Event {
                name: "hello".into(),
                args: vec![raw(r#""world""#)]
            }
        );
        let p = Packet::decode(br#"212["foo"]"#).unwrap();
        assert_eq!((p.kind, p.id), (Kind::Event, Some(12)));
        let p = Packet::decode(br#"3/admin,13["bar"]"#).unwrap();
        assert_eq!(
            (p.kind, p.namespace.as_str(), p.id),
            (Kind::Ack, "/admin", Some(13))
        );
        assert_eq!(p.payload, Payload::Ack(vec![raw(r#""bar""#)]));
        let p = Packet::decode(b"1/admin,").unwrap();
        assert_eq!((p.kind, p.namespace.as_str()), (Kind::Disconnect, "/admin"));
        let p = Packet::decode(br#"4{"message":"Not authorized"}"#).unwrap();
        assert_eq!(p.kind, Kind::ConnectError);
        let p = Packet::decode(br#"51-["baz",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!((p.kind, p.attachments), (Kind::BinaryEvent, 1));
        let p = Packet::decode(br#"61-/admin,1[{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(
            (p.kind, p.attachments, p.namespace.as_str(), p.id),
            (Kind::BinaryAck, 1, "/admin", Some(1))
        );
    }

    #[test]
    fn packets_encode_as_the_reference_encoder_does() {
        let mut p = Packet::new(Kind::Event, "/");
        p.payload = Payload::Event {
            name: "hello".into(),
            args: vec![string_arg("wor\"ld"), raw("1")],
        };
        assert_eq!(encoded(&p), r#"2["hello","wor\"ld",1]"#);
        p.namespace = "/chat".into();
        p.id = Some(7);
        assert_eq!(encoded(&p), r#"2/chat,7["hello","wor\"ld",1]"#);
        assert_eq!(encoded(&Packet::new(Kind::Disconnect, "/chat")), "1/chat,");
        assert_eq!(encoded(&Packet::new(Kind::Connect, "/")), "0");
        let mut b = Packet::new(Kind::BinaryEvent, "/");
        b.attachments = 1;
        b.payload = Payload::Event {
            name: "up".into(),
            args: vec![placeholder(0)],
        };
        assert_eq!(encoded(&b), r#"51-["up",{"_placeholder":true,"num":0}]"#);
        let mut a = Packet::new(Kind::Ack, "/");
        a.id = Some(3);
        a.payload = Payload::Ack(vec![]);
        assert_eq!(encoded(&a), "33[]");
    }

    #[test]
    fn invalid_packets_are_errors_as_in_the_reference_decoder() {
        for (bad, why) in [
            (&b""[..], "empty"),
            (b"9", "unknown type"),
            (b"2", "an event needs an array"),
            (b"2[]", "an empty event"),
            (b"2{}", "an event that is not an array"),
            (b"2[{}]", "an event without a name"),
            (br#"2["connect"]"#, "a reserved name"),
            (b"0[]", "a CONNECT that is not an object"),
            (b"1{}", "a DISCONNECT with a payload"),
            (b"3", "an ACK without arguments"),
            (b"3{}", "an ACK that is not an array"),
            (b"4[1]", "an error that is an array"),
            (br#"5["x"]"#, "a binary packet without a count"),
            (br#"50-["x"]"#, "a binary packet with no attachments"),
            (br#"5a-["x"]"#, "a count that is not a number"),
            (br#"2["x""#, "broken JSON"),
            (br#"299999999999999999999["x"]"#, "an ack id over u64"),
            (b"2[\"\xff\"]", "not UTF-8"),
        ] {
            assert!(
                Packet::decode(bad).is_err(),
                "{why}: {}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(
            Packet::decode(br#"2[1,2]"#).is_ok(),
            "a numeric event name is allowed"
        );
        assert!(Packet::decode(br#"4"just a string""#).is_ok());
    }

    #[test]
    fn binary_packets_wait_for_their_attachments() {
        let mut r = Reassembler::default();
        assert_eq!(
            r.text(br#"52-["pic",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
            Ok(None)
        );
        assert_eq!(r.binary(Bytes::from_static(b"\x00\x01")), Ok(None));
        let done = r.binary(Bytes::from_static(b"\xff")).unwrap().unwrap();
        assert_eq!(
            done.attachments,
            vec![Bytes::from_static(b"\x00\x01"), Bytes::from_static(b"\xff")]
        );
        let Payload::Event { args, .. } = &done.packet.payload else {
            panic!("an event")
        };
        assert_eq!(placeholder_num(&args[0]), Some(0));
        assert_eq!(placeholder_num(&args[1]), Some(1));
        assert_eq!(placeholder_num(&raw(r#"{"num":1}"#)), None);
        assert_eq!(r.binary(Bytes::new()), Err(DecodeError::StrayAttachment));
        let done = r.text(br#"2["plain"]"#).unwrap().unwrap();
        assert!(done.attachments.is_empty());
        assert_eq!(
            r.text(br#"51-["a",{"_placeholder":true,"num":0}]"#),
            Ok(None)
        );
        assert!(
            r.text(br#"2["early"]"#).is_err(),
            "a text packet cannot cut in"
        );
    }

    fn arb_json() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            "[a-z \"\\\\/é\u{1f600}\n]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just("true".to_string()),
            Just("null".to_string()),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("[a-z]{1,4}", inner), 0..3).prop_map(|v| {
                    let fields: Vec<String> = v
                        .into_iter()
                        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(&k).unwrap()))
                        .collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        let namespace = prop_oneof![Just("/".to_string()), "/[a-z0-9]{1,6}"];
        let args = proptest::collection::vec(arb_json(), 0..4)
            .prop_map(|v| v.into_iter().map(|s| raw(&s)).collect::<Vec<_>>());
        (
            0..7u8,
            namespace,
            proptest::option::of(any::<u64>()),
            "[a-z][a-z0-9 _]{0,8}",
            args,
            1..4usize,
        )
            .prop_map(|(k, namespace, id, name, args, attachments)| {
                let kind = Kind::from_digit(b'0' + k).unwrap();
                let mut id = id;
                let payload = match kind {
                    Kind::Connect => {
                        id = None;
                        Payload::Value(raw(r#"{"token":"x"}"#))
                    }
                    Kind::Disconnect => {
                        id = None;
                        Payload::None
                    }
                    Kind::ConnectError => {
                        id = None;
                        Payload::Value(raw(r#"{"message":"no"}"#))
                    }
                    Kind::Event | Kind::BinaryEvent => Payload::Event { name, args },
                    Kind::Ack | Kind::BinaryAck => Payload::Ack(args),
                };
                Packet {
                    kind,
                    namespace,
                    id,
                    attachments: if kind.is_binary() { attachments } else { 0 },
                    payload,
                }
            })
            .prop_filter("reserved names are not sent", |p| match &p.payload {
                Payload::Event { name, .. } => !RESERVED_EVENTS.contains(&name.as_str()),
                _ => true,
            })
    }

    proptest! {
        #[test]
        fn packets_round_trip(p in arb_packet()) {
            let text = encoded(&p);
            prop_assert_eq!(Packet::decode(text.as_bytes()).unwrap(), p);
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = Packet::decode(&bytes);
            let mut r = Reassembler::default();
            let _ = r.text(&bytes);
            let _ = r.binary(Bytes::from(bytes));
        }

        #[test]
        fn mutated_packets_never_panic(p in arb_packet(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut text = encoded(&p).into_bytes();
            let i = at.index(text.len());
            text[i] = byte;
            let _ = Packet::decode(&text);
        }
    }
}
