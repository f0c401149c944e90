//! Engine.IO v4 packets: the framing under Socket.IO. No I/O.
//!
//! ```text
//! text packet    = type-digit [data]          0 open, 1 close, 2 ping, 3 pong,
//!                                             4 message, 5 upgrade, 6 noop
//! binary message = raw bytes (a WebSocket binary frame, no type byte)
//! polling body   = packet *( %x1E packet )    binary as "b" + base64
//! ```
//! The open packet's data is the handshake JSON ([`Handshake`]). Text data
//! is kept as bytes: Engine.IO only needs the type digit, and the Socket.IO
//! decoder above checks UTF-8 once, where it parses the JSON.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;

/// The record separator between packets of a polling body.
pub const SEPARATOR: u8 = 0x1e;

/// One Engine.IO packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// Server → client: the handshake JSON.
    Open(Bytes),
    Close,
    /// In v4 the server pings; `2probe` is the client's upgrade probe.
    Ping(Bytes),
    /// The client's answer to a ping; `3probe` answers the probe.
    Pong(Bytes),
    /// A text message: one Socket.IO packet.
    Message(Bytes),
    /// A binary message: one Socket.IO attachment.
    Binary(Bytes),
    /// Client → server: the switch to the probed transport is complete.
    Upgrade,
    /// Server → client: releases a held polling request during an upgrade.
    Noop,
}

/// Why bytes are not an Engine.IO packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("an empty Engine.IO packet")]
    Empty,
    #[error("unknown Engine.IO packet type {:?}", char::from(*.0))]
    UnknownType(u8),
    #[error("a binary packet that is not valid base64")]
    BadBase64,
    #[error("a broken open packet: {0}")]
    BadHandshake(String),
}

impl Packet {
    fn type_digit(&self) -> Option<u8> {
        Some(match self {
            Packet::Open(_) => b'0',
            Packet::Close => b'1',
            Packet::Ping(_) => b'2',
            Packet::Pong(_) => b'3',
            Packet::Message(_) => b'4',
            Packet::Upgrade => b'5',
            Packet::Noop => b'6',
            Packet::Binary(_) => return None,
        })
    }

    fn data(&self) -> &[u8] {
        match self {
            Packet::Open(d) | Packet::Ping(d) | Packet::Pong(d) | Packet::Message(d) => d,
            Packet::Binary(b) => b,
            Packet::Close | Packet::Upgrade | Packet::Noop => &[],
        }
    }

    /// The text form (`4hello`), as sent in a WebSocket text frame. A
    /// binary packet has none: it goes as a binary frame of its bytes.
    pub fn encode_text(&self, out: &mut Vec<u8>) {
        match self.type_digit() {
            Some(digit) => {
                out.push(digit);
                out.extend_from_slice(self.data());
            }
            None => {
                out.push(b'b');
                base64_encode(self.data(), out);
            }
        }
    }
}

fn base64_encode(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
}

/// Decode one text packet (a WebSocket text frame, or one part of a polling
/// body without the `b` binary form).
pub fn decode_text(data: Bytes) -> Result<Packet, DecodeError> {
    let Some(&kind) = data.first() else {
        return Err(DecodeError::Empty);
    };
    let rest = data.slice(1..);
    Ok(match kind {
        b'0' => Packet::Open(rest),
        b'1' => Packet::Close,
        b'2' => Packet::Ping(rest),
        b'3' => Packet::Pong(rest),
        b'4' => Packet::Message(rest),
        b'5' => Packet::Upgrade,
        b'6' => Packet::Noop,
        other => return Err(DecodeError::UnknownType(other)),
    })
}

/// Decode a polling body: packets separated by `\x1e`, binary ones as `b`
/// + base64. Text packets are slices of `body`, not copies.
pub fn decode_payload(body: &Bytes) -> Result<Vec<Packet>, DecodeError> {
    let mut packets = Vec::new();
    let mut start = 0;
    loop {
        let end = memchr::memchr(SEPARATOR, &body[start..]).map_or(body.len(), |i| start + i);
        let part = body.slice(start..end);
        if part.first() == Some(&b'b') {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&part[1..])
                .map_err(|_| DecodeError::BadBase64)?;
            packets.push(Packet::Binary(Bytes::from(bytes)));
        } else {
            packets.push(decode_text(part)?);
        }
        if end == body.len() {
            return Ok(packets);
        }
        start = end + 1;
    }
}

/// Append `packet` to a polling body being built.
pub fn encode_payload_part(packet: &Packet, out: &mut Vec<u8>) {
    if !out.is_empty() {
        out.push(SEPARATOR);
    }
    packet.encode_text(out);
}

/// What the open packet says about the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    pub sid: String,
    /// Transports the session may upgrade to (`["websocket"]` over polling).
    pub upgrades: Vec<String>,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// The largest body the server reads (`maxHttpBufferSize`).
    pub max_payload: usize,
}

/// A server that sends no maxPayload (Engine.IO before 6.0) reads 1 MB.
const DEFAULT_MAX_PAYLOAD: usize = 1_000_000;

impl Handshake {
    pub fn parse(data: &[u8]) -> Result<Handshake, DecodeError> {
        let bad = |why: &str| DecodeError::BadHandshake(why.to_string());
        let v: serde_json::Value =
            serde_json::from_slice(data).map_err(|e| DecodeError::BadHandshake(e.to_string()))?;
        let sid = v["sid"].as_str().ok_or_else(|| bad("no sid"))?.to_string();
        if sid.is_empty() {
            return Err(bad("an empty sid"));
        }
        let upgrades = v["upgrades"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        // JavaScript numbers: accept 25000 and 2.5e4 alike.
        let millis = |key: &str| -> Result<Duration, DecodeError> {
            let ms = v[key]
                .as_f64()
                .filter(|ms| ms.is_finite() && *ms >= 0.0 && *ms < 1e12)
                .ok_or_else(|| bad(&format!("no valid {key}")))?;
            Ok(Duration::from_secs_f64(ms / 1000.0))
        };
        let max_payload = match v.get("maxPayload").and_then(|m| m.as_f64()) {
            Some(m) if m >= 1.0 && m.is_finite() => m.min(usize::MAX as f64) as usize,
            Some(_) => return Err(bad("a maxPayload below 1")),
            None => DEFAULT_MAX_PAYLOAD,
        };
        Ok(Handshake {
            sid,
            upgrades,
            ping_interval: millis("pingInterval")?,
            ping_timeout: millis("pingTimeout")?,
            max_payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn text_packets_decode_by_their_digit() {
        assert_eq!(decode_text(b("4hello")), Ok(Packet::Message(b("hello"))));
        assert_eq!(decode_text(b("2")), Ok(Packet::Ping(b(""))));
        assert_eq!(decode_text(b("3probe")), Ok(Packet::Pong(b("probe"))));
        assert_eq!(decode_text(b("6")), Ok(Packet::Noop));
        assert_eq!(decode_text(b("1")), Ok(Packet::Close));
        assert_eq!(decode_text(b("")), Err(DecodeError::Empty));
        assert_eq!(decode_text(b("7x")), Err(DecodeError::UnknownType(b'7')));
    }

    #[test]
    fn polling_bodies_split_on_the_record_separator() {
        let body = b("4hello\x1e2\x1ebAQIDBA==\x1e4world");
        assert_eq!(
            decode_payload(&body).unwrap(),
            vec![
                Packet::Message(b("hello")),
                Packet::Ping(b("")),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Packet::Message(b("world")),
            ]
        );
        assert_eq!(decode_payload(&b("b!!")), Err(DecodeError::BadBase64));
        assert_eq!(decode_payload(&b("4a\x1e")), Err(DecodeError::Empty));
    }

    #[test]
    fn payloads_encode_as_the_spec_shows() {
        let mut out = Vec::new();
        for p in [
            Packet::Message(b("hello")),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Packet::Pong(b("")),
        ] {
            encode_payload_part(&p, &mut out);
        }
        assert_eq!(out, b"4hello\x1ebAQIDBA==\x1e3");
    }

    #[test]
    fn the_open_packet_gives_the_session_settings() {
        let h = Handshake::parse(
            br#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        )
        .unwrap();
        assert_eq!(h.sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(h.upgrades, vec!["websocket".to_string()]);
        assert_eq!(h.ping_interval, Duration::from_secs(25));
        assert_eq!(h.ping_timeout, Duration::from_secs(20));
        assert_eq!(h.max_payload, 1_000_000);
        let old = Handshake::parse(
            br#"{"sid":"x","upgrades":[],"pingInterval":2.5e4,"pingTimeout":5000}"#,
        )
        .unwrap();
        assert_eq!(
            (old.ping_interval, old.max_payload),
            (Duration::from_secs(25), DEFAULT_MAX_PAYLOAD)
        );
        for bad in [
            &br#"{"upgrades":[]}"#[..],
            br#"{"sid":"x","pingInterval":-1,"pingTimeout":1}"#,
            br#"{"sid":"x","pingInterval":1}"#,
            b"not json",
        ] {
            assert!(
                Handshake::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        let data = "[a-z0-9\"{}:,é\\[\\]]{0,16}".prop_map(|s| Bytes::from(s.into_bytes()));
        prop_oneof![
            data.clone().prop_map(Packet::Open),
            Just(Packet::Close),
            data.clone().prop_map(Packet::Ping),
            data.clone().prop_map(Packet::Pong),
            data.prop_map(Packet::Message),
            proptest::collection::vec(any::<u8>(), 0..32)
                .prop_map(|v| Packet::Binary(Bytes::from(v))),
            Just(Packet::Upgrade),
            Just(Packet::Noop),
        ]
    }

    proptest! {
        #[test]
        fn payloads_round_trip(packets in proptest::collection::vec(arb_packet(), 1..8)) {
            let mut body = Vec::new();
            for p in &packets {
                encode_payload_part(p, &mut body);
            }
            prop_assert_eq!(decode_payload(&Bytes::from(body)).unwrap(), packets);
        }

        #[test]
        fn text_packets_round_trip(p in arb_packet()) {
            prop_assume!(!matches!(p, Packet::Binary(_)));
            let mut out = Vec::new();
            p.encode_text(&mut out);
            prop_assert_eq!(decode_text(Bytes::from(out)).unwrap(), p);
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let body = Bytes::from(bytes);
            let _ = decode_payload(&body);
            let _ = decode_text(body.clone());
            let _ = Handshake::parse(&body);
        }
    }
}
